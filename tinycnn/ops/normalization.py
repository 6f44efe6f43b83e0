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


class BatchNormInference(Function):
    """Inference-mode batch norm with fixed statistics, per channel:

        s = gamma / sqrt(var + eps),   y = (x - mean) * s + beta.

    Backward (mean and var are constants): dx = g * s, dbeta = sum(g),
    dgamma = sum(g * (x - mean)) / sqrt(var + eps). The forward pass is the tier's
    ``batch_norm_inference`` (one pass over x where the tier fuses it); each gradient is
    computed only when the graph needs it.
    """

    def forward(self, x, gamma, beta, mean, var, eps):
        self.kernels = get_backend()
        self.root = self.kernels.xp.sqrt(var + x.dtype.type(eps))
        self.scale = gamma / self.root
        if self.recording:
            self.x, self.mean = x, mean
        return self.kernels.batch_norm_inference(x, mean, self.scale, beta)

    def backward(self, g):
        axes = tuple(range(g.ndim - 1))
        need_x, need_gamma, need_beta = self.needs_input_grad
        dx = g * self.scale if need_x else None
        dgamma = (g * (self.x - self.mean)).sum(axis=axes) / self.root if need_gamma else None
        dbeta = g.sum(axis=axes) if need_beta else None
        return dx, dgamma, dbeta
