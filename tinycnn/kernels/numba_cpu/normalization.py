"""The Numba tier's batch normalisation: two passes forward (statistics, then the affine
normalisation), two backward (the two channel sums, then dx), split by rows over the
threads; xhat is recomputed from x in backward instead of being stored."""
from __future__ import annotations

import numpy as np

from . import loops
from .loops import compiled_nogil


@compiled_nogil
def _shifted_sums(x, shift, first, end):
    """Per channel, over rows [first, end): sum(x - shift) and sum((x - shift)^2) in float64
    (shifted by one row of x, so a large mean does not cancel the variance's digits)."""
    channels = x.shape[1]
    sums = np.zeros((2, channels), dtype=np.float64)
    for row in range(np.uintp(first), np.uintp(end)):
        for c in range(np.uintp(channels)):
            d = np.float64(x[row, c]) - shift[c]
            sums[0, c] += d
            sums[1, c] += d * d
    return sums


@compiled_nogil
def _normalise(x, mean, scale, beta, y, first, end):
    """y = (x - mean) * scale + beta, scale = gamma / sqrt(var + eps)."""
    for row in range(np.uintp(first), np.uintp(end)):
        for c in range(np.uintp(x.shape[1])):
            y[row, c] = (x[row, c] - mean[c]) * scale[c] + beta[c]


@compiled_nogil
def _gradient_sums(x, dy, mean, inv_std, first, end):
    """Per channel: sum(dy) and sum(dy * xhat)."""
    channels = x.shape[1]
    sums = np.zeros((2, channels), dtype=np.float64)
    for row in range(np.uintp(first), np.uintp(end)):
        for c in range(np.uintp(channels)):
            g = np.float64(dy[row, c])
            sums[0, c] += g
            sums[1, c] += g * ((x[row, c] - mean[c]) * inv_std[c])
    return sums


@compiled_nogil
def _input_gradient(x, dy, mean, inv_std, a, b, c0, dx, first, end):
    """dx = a * dy - b - c0 * xhat, per channel: a = gamma inv_std, b = a sum(dy) / m,
    c0 = a sum(dy xhat) / m (the formula of ops.normalization with dxhat = gamma dy)."""
    for row in range(np.uintp(first), np.uintp(end)):
        for c in range(np.uintp(x.shape[1])):
            xhat = (x[row, c] - mean[c]) * inv_std[c]
            dx[row, c] = a[c] * dy[row, c] - b[c] - c0[c] * xhat


class Normalization:
    """Batch norm forward and backward over rows of the (rows, channels) view."""

    def batch_norm_forward(self, x, gamma, beta, eps):
        x = np.ascontiguousarray(x)
        flat = x.reshape(-1, x.shape[-1])
        rows, dtype = flat.shape[0], x.dtype
        shift = flat[0].astype(np.float64)
        split = x.size >= loops.SPLIT_ELEMENTS
        sums = sum(loops.run(_shifted_sums, rows, flat, shift, split=split))
        shifted_mean = sums[0] / rows
        var = np.maximum(sums[1] / rows - shifted_mean * shifted_mean, 0.0)
        mean = (shifted_mean + shift).astype(dtype)
        var = var.astype(dtype)
        inv_std = (1 / np.sqrt(var + dtype.type(eps))).astype(dtype)
        gamma, beta = np.asarray(gamma, dtype), np.asarray(beta, dtype)
        y = self.batch_norm_inference(x, mean, gamma * inv_std, beta)
        return y, {"x": flat, "gamma": gamma, "inv_std": inv_std, "mean": mean, "var": var}

    def batch_norm_backward(self, ctx, dy):
        flat, mean, inv_std, gamma = ctx["x"], ctx["mean"], ctx["inv_std"], ctx["gamma"]
        dy = np.ascontiguousarray(dy)
        grad = dy.reshape(flat.shape)
        rows, dtype = flat.shape[0], dy.dtype
        split = dy.size >= loops.SPLIT_ELEMENTS
        sums = sum(loops.run(_gradient_sums, rows, flat, grad, mean, inv_std, split=split))
        a = gamma.astype(np.float64) * inv_std
        dx = np.empty_like(dy)
        loops.run(_input_gradient, rows, flat, grad, mean, inv_std, a.astype(dtype),
                  (a * sums[0] / rows).astype(dtype), (a * sums[1] / rows).astype(dtype), dx.reshape(flat.shape),
                  split=split)
        return dx, sums[1].astype(dtype), sums[0].astype(dtype)

    def batch_norm_inference(self, x, mean, scale, beta):
        """One pass of :func:`_normalise` (also training's second pass), where the array
        expression takes three: a speedrun prediction batch (256 images, widths 64,128,128)
        went from 169 to 149 ms."""
        x = np.ascontiguousarray(x)
        flat = x.reshape(-1, x.shape[-1])
        y = np.empty_like(x)
        loops.run(_normalise, flat.shape[0], flat, *(np.asarray(v, x.dtype) for v in (mean, scale, beta)),
                  y.reshape(flat.shape), split=x.size >= loops.SPLIT_ELEMENTS)
        return y
