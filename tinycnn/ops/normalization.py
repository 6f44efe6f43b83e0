"""Batch normalisation over every axis but the last (the channels)."""
from __future__ import annotations

import numpy as np

from .function import Function


class BatchNormTrain(Function):
    """Training-mode batch norm with the batch's own statistics, per channel:

        mu = mean(x),  var = mean((x - mu)^2)  (biased, as Keras 3),
        xhat = (x - mu) / sqrt(var + eps),     y = gamma * xhat + beta.

    Backward, with m values per channel and dxhat = g * gamma:

        dbeta = sum(g),  dgamma = sum(g * xhat),
        dx = (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (m * sqrt(var + eps)).

    ``moving = (moving_mean, moving_var, momentum)``: the batch statistics are folded into
    the moving averages in place, ``moving = momentum * moving + (1 - momentum) * batch``.
    """

    def forward(self, x, gamma, beta, eps, moving):
        axes = tuple(range(x.ndim - 1))
        self.batch_mean = x.mean(axis=axes)
        self.batch_var = x.var(axis=axes)
        moving_mean, moving_var, momentum = moving
        moving_mean *= momentum
        moving_mean += (1 - momentum) * self.batch_mean
        moving_var *= momentum
        moving_var += (1 - momentum) * self.batch_var
        self.inv_std = 1 / np.sqrt(self.batch_var + x.dtype.type(eps))
        self.xhat = (x - self.batch_mean) * self.inv_std
        self.gamma, self.axes, self.m = gamma, axes, x.size // x.shape[-1]
        return self.xhat * gamma + beta

    def backward(self, g):
        xhat, axes = self.xhat, self.axes
        dxhat = g * self.gamma
        sum_dxhat = dxhat.sum(axis=axes)
        sum_dxhat_xhat = (dxhat * xhat).sum(axis=axes)
        dx = (self.m * dxhat - sum_dxhat - xhat * sum_dxhat_xhat) * (self.inv_std / self.m)
        return dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)
