"""The Numba tier's fused softmax + cross-entropy: one pass per row."""
from __future__ import annotations

import numpy as np

from .loops import compiled


@compiled
def _softmax_rows(z, p, row):
    """p[row] = softmax(z[row]); returns log of the shifted normaliser and the row max,
    so that log p_k = z_k - max - log_normaliser."""
    top = z[row, 0]
    for k in range(1, z.shape[1]):
        top = max(top, z[row, k])
    total = z.dtype.type(0)
    for k in range(z.shape[1]):
        p[row, k] = np.exp(z[row, k] - top)
        total += p[row, k]
    for k in range(z.shape[1]):
        p[row, k] /= total
    return np.log(total), top


@compiled
def _softmax_xent_labels(z, labels, losses, grad):
    """losses[n] = log sum_k e^{z_nk} - z_{n,label};  grad = softmax(z) - onehot(label)."""
    for row in range(z.shape[0]):
        log_total, top = _softmax_rows(z, grad, row)
        label = labels[row]
        losses[row] = log_total - (z[row, label] - top)
        grad[row, label] -= 1


@compiled
def _softmax_xent_rows(z, targets, losses, grad):
    """losses[n] = -sum_k y_nk log p_nk;  grad = p * sum_k y_nk - y."""
    for row in range(z.shape[0]):
        log_total, top = _softmax_rows(z, grad, row)
        loss = z.dtype.type(0)
        weight = z.dtype.type(0)
        for k in range(z.shape[1]):
            loss -= targets[row, k] * (z[row, k] - top - log_total)
            weight += targets[row, k]
        losses[row] = loss
        for k in range(z.shape[1]):
            grad[row, k] = grad[row, k] * weight - targets[row, k]


class Losses:
    """softmax_cross_entropy in the logits' dtype."""

    def softmax_cross_entropy(self, logits, targets):
        """See the NumPy tier; one pass per row, in the logits' dtype."""
        losses = np.empty(logits.shape[0], dtype=logits.dtype)
        grad = np.empty_like(logits)
        if targets.ndim == 1:
            _softmax_xent_labels(logits, targets, losses, grad)
        else:
            _softmax_xent_rows(logits, targets.astype(logits.dtype, copy=False), losses, grad)
        return losses, grad
