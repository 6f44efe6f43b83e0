"""The fused softmax + cross-entropy loss (the fast path for a softmax output layer)."""
from __future__ import annotations

from .function import Function
from ..kernels import get_backend


class SoftmaxCrossEntropy(Function):
    """Per-sample loss from logits z and targets y (one-hot / soft rows, or integer labels):

        loss_n = -sum_k y_nk log softmax(z_n)_k,     dloss_n/dz_n = softmax(z_n) sum_k y_nk - y_n.

    Computing both from the logits in one pass is exact and stable, where softmax followed
    by log would lose precision (and need clipping) for saturated probabilities.
    """

    def forward(self, logits, targets):
        losses, self.grad = get_backend().softmax_cross_entropy(logits, targets)
        return losses

    def backward(self, g):
        return (self.grad * g[:, None],)
