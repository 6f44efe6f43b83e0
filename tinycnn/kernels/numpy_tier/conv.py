"""The NumPy tier's convolution: im2col + one GEMM."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .windows import add_windows, crop_hw, pad_hw, windows


class Convolution:
    """conv2d_forward and conv2d_backward as matrix products over im2col's windows."""

    # ----- convolution ----------------------------------------------------------------
    def conv2d_forward(self, x, w, b, strides, pads):
        """y[n,i,j,f] = b[f] + sum_{a,b,c} xp[n, i*sh+a, j*sw+b, c] * w[a,b,c,f].

        im2col turns the input into a matrix ``cols`` of shape (N*oh*ow, kh*kw*cin), one row
        per output pixel, so the convolution is one GEMM: ``y = cols @ W`` with
        ``W = w.reshape(kh*kw*cin, cout)``.
        """
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        xp = pad_hw(x, pads)
        oh = (xp.shape[1] - kh) // strides[0] + 1
        ow = (xp.shape[2] - kw) // strides[1] + 1
        cols = windows(xp, (oh, ow), (kh, kw), strides).reshape(n * oh * ow, kh * kw * cin)
        y = cols @ w.reshape(kh * kw * cin, cout)
        if b is not None:
            y += b
        ctx = SimpleNamespace(cols=cols, w=w, x_shape=x.shape, padded_hw=xp.shape[1:3],
                              out_hw=(oh, ow), strides=strides, pads=pads, has_bias=b is not None)
        return y.reshape(n, oh, ow, cout), ctx

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """The other two GEMMs: ``dW = cols^T @ dY`` and ``dcols = dY @ W^T``; col2im then
        adds each row of ``dcols`` back onto the input pixels its window covered.
        Returns ``(dx, dw, db)`` (``db`` is None without bias; ``dx`` is None when
        ``need_dx`` is false, which skips the second GEMM and col2im)."""
        kh, kw, cin, cout = ctx.w.shape
        dy2 = dy.reshape(-1, cout)
        dw = (ctx.cols.T @ dy2).reshape(ctx.w.shape)
        db = dy2.sum(axis=0) if ctx.has_bias else None
        if not need_dx:
            return None, dw, db
        dcols = dy2 @ ctx.w.reshape(kh * kw * cin, cout).T
        n = ctx.x_shape[0]
        dxp = np.zeros((n, *ctx.padded_hw, cin), dtype=dy.dtype)
        add_windows(dxp, dcols.reshape(n, *ctx.out_hw, kh, kw, cin), ctx.strides)
        return crop_hw(dxp, ctx.pads, ctx.x_shape[1:3]), dw, db
