"""Output sizes and padding of sliding-window ops (convolution and pooling), as Keras/TF
define them.

For one spatial axis of size ``n``, window ``k`` and stride ``s``:

* ``'valid'``: no padding, ``out = floor((n - k) / s) + 1``.
* ``'same'``:  ``out = ceil(n / s)``; the total padding is
  ``max((out - 1) * s + k - n, 0)``, with ``total // 2`` before and the rest after, so an
  odd pixel goes at the bottom/right (e.g. n=32, k=3, s=2 gives pads (0, 1)).
"""
from __future__ import annotations

import numbers

PADDINGS = ("valid", "same")


def window_geometry(n: int, k: int, s: int, padding: str) -> tuple[int, int, int]:
    """Return ``(out, pad_before, pad_after)`` for one spatial axis."""
    if padding == "valid":
        return (n - k) // s + 1, 0, 0
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def padded_output_size(n: int, k: int, s: int, pad_before: int, pad_after: int) -> int:
    """Windows of size ``k`` at stride ``s`` that fit an axis of ``n`` cells padded by
    ``pad_before`` and ``pad_after``: ``(n + pads - k) // s + 1``."""
    return (n + pad_before + pad_after - k) // s + 1


def window_cells(o: int, s: int, pad_before: int, k: int, n: int) -> tuple[int, int]:
    """The real cells ``[lo, hi)`` of an axis of ``n`` cells that window ``o`` covers: it
    starts at ``o*s - pad_before`` and spans ``k`` cells, padding left out. Plain
    arithmetic, so the compiled tiers compile this same function (an ``njit`` function on
    the CPU, a device function on the GPU)."""
    start = o * s - pad_before
    return max(start, 0), min(start + k, n)


def window_output_shape(x_shape, window, strides, pads) -> tuple:
    """The NHWC output shape of a window op (pooling) over ``x_shape``."""
    n, h, w, c = x_shape
    return (n, padded_output_size(h, window[0], strides[0], *pads[0]),
            padded_output_size(w, window[1], strides[1], *pads[1]), c)


def pair(value, name: str, op: str) -> tuple[int, int]:
    """Normalise an int or a pair of ints (kernel size, strides) to a tuple of two ints
    of at least 1, raising a ValueError that names ``op`` and ``name`` otherwise."""
    # numbers.Integral: Python ints and NumPy integers (np.int64(2), or the items of an
    # integer array) are all accepted; bools are not sizes.
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = value
        ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (a, b))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if a < 1 or b < 1:
        raise ValueError(f"{op}: {name} must be at least 1, got {(a, b)}")
    return int(a), int(b)


def check_padding(padding, op: str) -> str:
    name = padding.lower() if isinstance(padding, str) else padding
    if name not in PADDINGS:
        raise ValueError(f"{op}: unknown padding {padding!r}; use 'valid' or 'same'")
    return name


def plan_2d(op: str, in_hw: tuple, window, strides, padding):
    """Validate a 2-D sliding-window configuration and work out its geometry.

    Returns ``(kh, kw), (sh, sw), (oh, ow), ((top, bottom), (left, right))``. Raises a
    ValueError naming ``op`` when the window does not fit a 'valid' input or the arguments
    are malformed.
    """
    kh, kw = pair(window, "window size", op)
    sh, sw = pair(strides, "strides", op)
    padding = check_padding(padding, op)
    h, w = in_hw
    oh, top, bottom = window_geometry(h, kh, sh, padding)
    ow, left, right = window_geometry(w, kw, sw, padding)
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{op}: window {(kh, kw)} is larger than the input's spatial size {(h, w)} "
            "with padding 'valid'; use a smaller window or padding='same'"
        )
    return (kh, kw), (sh, sw), (oh, ow), ((top, bottom), (left, right))
