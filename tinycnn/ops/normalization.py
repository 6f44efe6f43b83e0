"""Batch normalisation over every axis but the last (the channels)."""
from __future__ import annotations

from .function import Function
from ..kernels import get_backend


class BatchNormTrain(Function):
    """Training-mode batch norm with the batch's own statistics, per channel:

        mu = mean(x),  var = mean((x - mu)^2)  (biased, as Keras 3),
        xhat = (x - mu) / sqrt(var + eps),     y = gamma * xhat + beta.

    Backward, with m values per channel and dxhat = g * gamma:

        dbeta = sum(g),  dgamma = sum(g * xhat),
        dx = (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)) / (m * sqrt(var + eps)).

    The arithmetic is the tier's (``batch_norm_forward`` / ``batch_norm_backward``).
    ``moving = (moving_mean, moving_var, momentum)``: the batch statistics are folded into
    the moving averages in place, ``moving = momentum * moving + (1 - momentum) * batch``.
    """

    def forward(self, x, gamma, beta, eps, moving):
        self.kernels = get_backend()
        y, self.ctx = self.kernels.batch_norm_forward(x, gamma, beta, eps)
        moving_mean, moving_var, momentum = moving
        moving_mean *= momentum
        moving_mean += (1 - momentum) * self.ctx["mean"]
        moving_var *= momentum
        moving_var += (1 - momentum) * self.ctx["var"]
        return y

    def backward(self, g):
        return self.kernels.batch_norm_backward(self.ctx, g)
