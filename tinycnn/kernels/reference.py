"""The ``reference`` kernel tier: convolution and pooling as plain loops, written to be read.

Each function follows its textbook definition one output pixel at a time. It is slow and
meant for teaching and for checking the fast tiers; everything else is inherited from the
NumPy tier.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .geometry import padded_output_size
from .numpy_tier import NumpyBackend




def _taps(i, j, window, strides, pads, in_hw):
    """The kernel taps (a, b) of output pixel (i, j) with the input pixel (r, c) each one
    reads; taps that fall on padding are left out."""
    (kh, kw), (sh, sw), ((top, _), (left, _)), (h, w) = window, strides, pads, in_hw
    for a in range(kh):
        for b in range(kw):
            r, c = i * sh + a - top, j * sw + b - left
            if 0 <= r < h and 0 <= c < w:
                yield a, b, r, c


class ReferenceBackend(NumpyBackend):
    name = "reference"

    def conv2d_forward(self, x, w, b, strides, pads):
        """y[n, i, j, :] = b + sum over taps (a, b) of  x[n, r, c, :] @ w[a, b]."""
        n, h, wd, _ = x.shape
        kh, kw, _, cout = w.shape
        oh = padded_output_size(h, kh, strides[0], *pads[0])
        ow = padded_output_size(wd, kw, strides[1], *pads[1])
        y = np.zeros((n, oh, ow, cout), dtype=x.dtype)
        for img in range(n):
            for i in range(oh):
                for j in range(ow):
                    acc = np.zeros(cout, dtype=x.dtype) if b is None else b.copy()
                    for a, bb, r, c in _taps(i, j, (kh, kw), strides, pads, (h, wd)):
                        acc += x[img, r, c, :] @ w[a, bb]
                    y[img, i, j] = acc
        return y, SimpleNamespace(x=x, w=w, has_bias=b is not None, strides=strides, pads=pads)

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """Every multiply-add of the forward loop sends dy back to both of its factors
        (``dx`` is still computed when ``need_dx`` is false, then dropped: this tier is for
        reading, not speed)."""
        x, w = ctx.x, ctx.w
        n, h, wd, _ = x.shape
        kh, kw = w.shape[:2]
        dx, dw = np.zeros_like(x), np.zeros_like(w)
        for img in range(n):
            for i in range(dy.shape[1]):
                for j in range(dy.shape[2]):
                    g = dy[img, i, j]
                    for a, bb, r, c in _taps(i, j, (kh, kw), ctx.strides, ctx.pads, (h, wd)):
                        dx[img, r, c, :] += w[a, bb] @ g
                        dw[a, bb] += np.outer(x[img, r, c, :], g)
        db = dy.sum(axis=(0, 1, 2)) if ctx.has_bias else None
        return (dx if need_dx else None), dw, db

    def _pool_cells(self, x, pool, strides, pads):
        """Yield ``(img, i, j, cells, (oh, ow))`` for every output pixel, with ``cells`` the
        (r, c) input positions its window reads, in row-major order, padding left out."""
        n, h, w, _ = x.shape
        oh = padded_output_size(h, pool[0], strides[0], *pads[0])
        ow = padded_output_size(w, pool[1], strides[1], *pads[1])
        for img in range(n):
            for i in range(oh):
                for j in range(ow):
                    cells = [(r, c) for _, _, r, c in _taps(i, j, pool, strides, pads, (h, w))]
                    yield img, i, j, cells, (oh, ow)

    def max_pool2d_forward(self, x, pool, strides, pads):
        """y[n, i, j, ch] = the largest x over the window; the first largest (row-major)
        is remembered as the winner."""
        y, winners = None, {}
        for img, i, j, cells, out_hw in self._pool_cells(x, pool, strides, pads):
            if y is None:
                y = np.zeros((x.shape[0], *out_hw, x.shape[3]), dtype=x.dtype)
            values = np.stack([x[img, r, c, :] for r, c in cells])  # (cells, C)
            first_max = values.argmax(axis=0)                         # first occurrence
            y[img, i, j] = values[first_max, np.arange(x.shape[3])]
            winners[img, i, j] = [cells[k] for k in first_max]
        return y, SimpleNamespace(x_shape=x.shape, winners=winners)

    def max_pool2d_backward(self, ctx, dy):
        dx = np.zeros(ctx.x_shape, dtype=dy.dtype)
        for (img, i, j), cells in ctx.winners.items():
            for ch, (r, c) in enumerate(cells):
                dx[img, r, c, ch] += dy[img, i, j, ch]
        return dx

    def avg_pool2d_forward(self, x, pool, strides, pads):
        """y[n, i, j, :] = mean of x over the real (unpadded) cells of the window."""
        y, windows = None, {}
        for img, i, j, cells, out_hw in self._pool_cells(x, pool, strides, pads):
            if y is None:
                y = np.zeros((x.shape[0], *out_hw, x.shape[3]), dtype=x.dtype)
            y[img, i, j] = np.mean([x[img, r, c, :] for r, c in cells], axis=0)
            windows[img, i, j] = cells
        return y, SimpleNamespace(x_shape=x.shape, windows=windows)

    def avg_pool2d_backward(self, ctx, dy):
        dx = np.zeros(ctx.x_shape, dtype=dy.dtype)
        for (img, i, j), cells in ctx.windows.items():
            for r, c in cells:
                dx[img, r, c, :] += dy[img, i, j, :] / len(cells)
        return dx
