"""The NumPy tier's pooling: strided window views, reduced along the window axes."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .windows import add_windows, crop_hw, pad_hw, windows


class Pooling:
    """Max and average pooling on window views."""

    # ----- pooling --------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """y[n,i,j,c] = max over the window; padding is -inf, so padded cells never win.
        The argmax is the first maximum in row-major window order (Keras's tie rule)."""
        xp = pad_hw(x, pads, value=-np.inf)
        oh = (xp.shape[1] - pool[0]) // strides[0] + 1
        ow = (xp.shape[2] - pool[1]) // strides[1] + 1
        win = windows(xp, (oh, ow), pool, strides)               # (N, oh, ow, ph, pw, C)
        flat = win.transpose(0, 1, 2, 5, 3, 4).reshape(*win.shape[:3], win.shape[5], -1)
        arg = flat.argmax(axis=-1)                              # (N, oh, ow, C)
        y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
        ctx = SimpleNamespace(arg=arg, pool=pool, strides=strides, pads=pads,
                              x_shape=x.shape, padded_hw=xp.shape[1:3])
        return y, ctx

    def max_pool2d_backward(self, ctx, dy):
        """Each output's gradient goes to the one input cell that won its window."""
        ph, pw = ctx.pool
        n, _, _, c = ctx.x_shape
        dwin = np.zeros((*dy.shape[:3], ph, pw, c), dtype=dy.dtype)
        for k in range(ph * pw):
            dwin[:, :, :, k // pw, k % pw, :] = np.where(ctx.arg == k, dy, 0)
        dxp = np.zeros((n, *ctx.padded_hw, c), dtype=dy.dtype)
        add_windows(dxp, dwin, ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3])

    def avg_pool2d_forward(self, x, pool, strides, pads):
        """y = (sum of the real cells of the window) / (their count): padded cells are
        neither added nor counted."""
        xp = pad_hw(x, pads)
        oh = (xp.shape[1] - pool[0]) // strides[0] + 1
        ow = (xp.shape[2] - pool[1]) // strides[1] + 1
        total = windows(xp, (oh, ow), pool, strides).sum(axis=(3, 4))
        count = self._window_counts(x.shape[1:3], (oh, ow), pool, strides, pads).astype(x.dtype)
        ctx = SimpleNamespace(count=count, pool=pool, strides=strides, pads=pads,
                              x_shape=x.shape, padded_hw=xp.shape[1:3])
        return total / count[None, :, :, None], ctx

    def avg_pool2d_backward(self, ctx, dy):
        ph, pw = ctx.pool
        n, _, _, c = ctx.x_shape
        share = dy / ctx.count[None, :, :, None]
        dwin = np.broadcast_to(share[:, :, :, None, None, :], (*dy.shape[:3], ph, pw, c))
        dxp = np.zeros((n, *ctx.padded_hw, c), dtype=dy.dtype)
        add_windows(dxp, dwin, ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3])

    @staticmethod
    def _window_counts(in_hw, out_hw, pool, strides, pads):
        """Number of real (unpadded) input cells in each output's window, shape (oh, ow)."""
        counts = []
        for n, o, k, s, (before, _) in zip(in_hw, out_hw, pool, strides, pads):
            start = np.arange(o) * s - before
            counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
        return np.outer(counts[0], counts[1])
