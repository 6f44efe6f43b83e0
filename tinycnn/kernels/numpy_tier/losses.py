"""The NumPy tier's fused softmax + cross-entropy."""
from __future__ import annotations

import numpy as np


class Losses:
    """softmax_cross_entropy on whole arrays."""

    def softmax_cross_entropy(self, logits, targets):
        """Fused softmax + cross-entropy, per sample.

        With ``p = softmax(z)`` and targets ``y`` (rows of class weights, usually one-hot):
        ``loss = -sum_k y_k log p_k = sum_k y_k (logsumexp(z) - z_k)`` and
        ``dloss/dz = p * sum_k y_k - y``. Integer ``targets`` of shape (N,) mean one-hot rows.
        Returns ``(losses (N,), dlosses/dlogits (N, K))``.
        """
        shifted = logits - logits.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        denom = exp.sum(axis=-1, keepdims=True)
        log_p = shifted - np.log(denom)
        p = exp / denom
        if targets.ndim == 1:
            rows = np.arange(len(targets))
            losses = -log_p[rows, targets]
            grad = p
            grad[rows, targets] -= 1
        else:
            losses = -(targets * log_p).sum(axis=-1)
            grad = p * targets.sum(axis=-1, keepdims=True) - targets
        return losses, grad
