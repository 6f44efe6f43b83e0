"""The CUDA tier's pooling: one thread per output, backward as a gather per input cell."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..geometry import window_cells, window_output_shape
from .device import cuda


@cuda.jit(device=True)
def _nhwc_index(k, h, w, channels):
    """(image, row, column, channel) of flat index ``k`` in an NHWC array with ``h`` rows,
    ``w`` columns and ``channels`` channels."""
    ch = k % channels
    t = k // channels
    col = t % w
    t = t // w
    return t // h, t % h, col, ch


_window_cells = cuda.jit(device=True)(window_cells)



@cuda.jit
def _max_pool_forward(x, ph, pw, sh, sw, top, left, y, winner):
    """y[n,i,j,ch] = max of x over the real cells of the window; winner[n,i,j,ch] = the
    flat index (r*W + c)*C + ch of its first maximum in row-major order (strict >).
    Padded cells are never visited, so they never win. One thread per output."""
    k = cuda.grid(1)
    n, oh, ow, channels = y.shape
    if k >= n * oh * ow * channels:
        return
    img, i, j, ch = _nhwc_index(k, oh, ow, channels)
    h, w = x.shape[1], x.shape[2]
    r0, r1 = _window_cells(i, sh, top, ph, h)
    c0, c1 = _window_cells(j, sw, left, pw, w)
    best = x[img, r0, c0, ch]
    best_at = (r0 * w + c0) * channels + ch
    for r in range(r0, r1):
        for c in range(c0, c1):
            v = x[img, r, c, ch]
            if v > best:
                best = v
                best_at = (r * w + c) * channels + ch
    y[img, i, j, ch] = best
    winner[img, i, j, ch] = best_at


@cuda.jit(device=True)
def _windows_over(r, top, k, s, out):
    """The output indices [lo, hi) whose window (start o*s - top, size k) covers cell r."""
    first = r + top - k + 1              # o*s >= first
    lo = 0 if first <= 0 else (first + s - 1) // s
    hi = min((r + top) // s + 1, out)
    return lo, hi


@cuda.jit
def _max_pool_backward(dy, winner, ph, pw, sh, sw, top, left, dx, zero):
    """dx[n,r,c,ch] = sum of dy over the windows covering (r, c) whose winner is this cell.
    One thread per input cell (a gather: no two threads write the same cell)."""
    k = cuda.grid(1)
    n, h, w, channels = dx.shape
    if k >= n * h * w * channels:
        return
    img, r, c, ch = _nhwc_index(k, h, w, channels)
    me = (r * w + c) * channels + ch
    i0, i1 = _windows_over(r, top, ph, sh, dy.shape[1])
    j0, j1 = _windows_over(c, left, pw, sw, dy.shape[2])
    acc = zero
    for i in range(i0, i1):
        for j in range(j0, j1):
            if winner[img, i, j, ch] == me:
                acc += dy[img, i, j, ch]
    dx[img, r, c, ch] = acc


@cuda.jit
def _avg_pool_forward(x, ph, pw, sh, sw, top, left, y, zero):
    """y[n,i,j,ch] = (sum of x over the real cells of the window) / (their number)."""
    k = cuda.grid(1)
    n, oh, ow, channels = y.shape
    if k >= n * oh * ow * channels:
        return
    img, i, j, ch = _nhwc_index(k, oh, ow, channels)
    h, w = x.shape[1], x.shape[2]
    r0, r1 = _window_cells(i, sh, top, ph, h)
    c0, c1 = _window_cells(j, sw, left, pw, w)
    acc = zero
    for r in range(r0, r1):
        for c in range(c0, c1):
            acc += x[img, r, c, ch]
    y[img, i, j, ch] = acc / y.dtype.type((r1 - r0) * (c1 - c0))


@cuda.jit
def _avg_pool_backward(dy, ph, pw, sh, sw, top, left, dx, zero):
    """dx[n,r,c,ch] = sum over the windows covering (r, c) of dy / (real cells of that
    window). One thread per input cell."""
    k = cuda.grid(1)
    n, h, w, channels = dx.shape
    if k >= n * h * w * channels:
        return
    img, r, c, ch = _nhwc_index(k, h, w, channels)
    i0, i1 = _windows_over(r, top, ph, sh, dy.shape[1])
    j0, j1 = _windows_over(c, left, pw, sw, dy.shape[2])
    acc = zero
    for i in range(i0, i1):
        r0, r1 = _window_cells(i, sh, top, ph, h)
        for j in range(j0, j1):
            c0, c1 = _window_cells(j, sw, left, pw, w)
            acc += dy[img, i, j, ch] / dx.dtype.type((r1 - r0) * (c1 - c0))
    dx[img, r, c, ch] = acc


class Pooling:
    """Max and average pooling on device arrays."""

    # ----- pooling --------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """Max over the real cells of each window; ctx keeps each output's winning cell."""
        x = self.xp.ascontiguousarray(x)
        out_shape = window_output_shape(x.shape, pool, strides, pads)
        y = self.xp.empty(out_shape, dtype=x.dtype)
        winner = self.xp.empty(out_shape, dtype=np.int32)
        self._launch(_max_pool_forward, y.size, x, *pool, *strides, pads[0][0], pads[1][0], y, winner)
        return y, SimpleNamespace(winner=winner, x_shape=x.shape, pool=pool, strides=strides, pads=pads)

    def max_pool2d_backward(self, ctx, dy):
        dy = self.xp.ascontiguousarray(dy)
        dx = self.xp.empty(ctx.x_shape, dtype=dy.dtype)
        self._launch(_max_pool_backward, dx.size, dy, ctx.winner, *ctx.pool, *ctx.strides,
                     ctx.pads[0][0], ctx.pads[1][0], dx, self._zero(dy.dtype))
        return dx

    def avg_pool2d_forward(self, x, pool, strides, pads):
        x = self.xp.ascontiguousarray(x)
        y = self.xp.empty(window_output_shape(x.shape, pool, strides, pads), dtype=x.dtype)
        self._launch(_avg_pool_forward, y.size, x, *pool, *strides, pads[0][0], pads[1][0], y,
                     self._zero(x.dtype))
        return y, SimpleNamespace(pool=pool, strides=strides, pads=pads, x_shape=x.shape)

    def avg_pool2d_backward(self, ctx, dy):
        dy = self.xp.ascontiguousarray(dy)
        dx = self.xp.empty(ctx.x_shape, dtype=dy.dtype)
        self._launch(_avg_pool_backward, dx.size, dy, *ctx.pool, *ctx.strides, ctx.pads[0][0],
                     ctx.pads[1][0], dx, self._zero(dy.dtype))
        return dx
