"""The NumPy tier's batch normalisation kernels, as array expressions (CuPy runs them too)."""
from __future__ import annotations

import numpy as np


class Normalization:
    """Training-mode batch norm over every axis but the last, forward and backward."""

    def batch_norm_forward(self, x, gamma, beta, eps):
        axes = tuple(range(x.ndim - 1))  # statistics accumulated in float64: a float32 sum over the
        # outer axes is a running sum, off by ~sqrt(m) ulp of the mean, which large means amplify
        mean, var = (s.astype(x.dtype) for s in (x.mean(axis=axes, dtype=np.float64), x.var(axis=axes, dtype=np.float64)))
        inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
        xhat = (x - mean) * inv_std
        return xhat * gamma + beta, {"xhat": xhat, "gamma": gamma, "inv_std": inv_std, "mean": mean, "var": var}

    def batch_norm_backward(self, ctx, dy):
        xhat, axes = ctx["xhat"], tuple(range(dy.ndim - 1))
        m = dy.size // dy.shape[-1]
        dxhat = dy * ctx["gamma"]
        sum_dxhat, sum_dxhat_xhat = dxhat.sum(axis=axes), (dxhat * xhat).sum(axis=axes)
        dx = (m * dxhat - sum_dxhat - xhat * sum_dxhat_xhat) * (ctx["inv_std"] / m)
        return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)
