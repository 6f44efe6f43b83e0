"""Window views of NHWC arrays, shared by the NumPy tier's convolution and pooling."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad_hw(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """Pad the two spatial axes of an NHWC array (no copy when there is nothing to pad)."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def windows(xp: np.ndarray, out_hw, window, strides) -> np.ndarray:
    """A strided view of every window of a padded NHWC array, shape
    ``(N, oh, ow, kh, kw, C)``: element ``[n, i, j, a, b, c]`` is
    ``xp[n, i * sh + a, j * sw + b, c]``. No data is copied."""
    n, _, _, c = xp.shape
    (oh, ow), (kh, kw), (sh, sw) = out_hw, window, strides
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, shape=(n, oh, ow, kh, kw, c),
                      strides=(s0, s1 * sh, s2 * sw, s1, s2, s3), writeable=False)


def add_windows(dxp: np.ndarray, dwin: np.ndarray, strides) -> None:
    """The adjoint of :func:`windows`: add ``dwin[n, i, j, a, b, c]`` into
    ``dxp[n, i * sh + a, j * sw + b, c]`` (overlapping windows accumulate)."""
    _, oh, ow, kh, kw, _ = dwin.shape
    sh, sw = strides
    for a in range(kh):
        for b in range(kw):
            dxp[:, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw, :] += dwin[:, :, :, a, b, :]


def crop_hw(xp: np.ndarray, pads, hw) -> np.ndarray:
    (top, _), (left, _) = pads
    h, w = hw
    return xp[:, top:top + h, left:left + w, :]
