"""The CUDA tier's fused softmax + cross-entropy: one thread per row."""
from __future__ import annotations

import math

import numpy as np

from .device import cuda


@cuda.jit(device=True)
def _softmax_row(z, p, row, zero):
    """p[row] = softmax(z[row]); returns (log of the shifted normaliser, the row max), so
    that log p_k = z_k - max - log_normaliser."""
    top = z[row, 0]
    for k in range(1, z.shape[1]):
        top = max(top, z[row, k])
    total = zero
    for k in range(z.shape[1]):
        e = math.exp(z[row, k] - top)
        p[row, k] = e
        total += e
    for k in range(z.shape[1]):
        p[row, k] /= total
    return math.log(total), top


@cuda.jit
def _softmax_xent_labels(z, labels, losses, grad, zero):
    """losses[n] = log sum_k e^{z_nk} - z_{n,label};  grad = softmax(z) - onehot(label)."""
    row = cuda.grid(1)
    if row >= z.shape[0]:
        return
    log_total, top = _softmax_row(z, grad, row, zero)
    label = labels[row]
    losses[row] = log_total - (z[row, label] - top)
    grad[row, label] -= 1


@cuda.jit
def _softmax_xent_rows(z, targets, losses, grad, zero):
    """losses[n] = -sum_k y_nk log p_nk;  grad = p * sum_k y_nk - y."""
    row = cuda.grid(1)
    if row >= z.shape[0]:
        return
    log_total, top = _softmax_row(z, grad, row, zero)
    loss = zero
    weight = zero
    for k in range(z.shape[1]):
        loss -= targets[row, k] * (z[row, k] - top - log_total)
        weight += targets[row, k]
    losses[row] = loss
    for k in range(z.shape[1]):
        grad[row, k] = grad[row, k] * weight - targets[row, k]


class Losses:
    """softmax_cross_entropy on device arrays."""

    def softmax_cross_entropy(self, logits, targets):
        """See the NumPy tier; one thread per row, in the logits' dtype."""
        xp = self.xp
        logits = xp.ascontiguousarray(logits)
        losses = xp.empty(logits.shape[0], dtype=logits.dtype)
        grad = xp.empty_like(logits)
        zero = self._zero(logits.dtype)
        if targets.ndim == 1:
            labels = targets if targets.dtype.kind in "iu" else targets.astype(np.int64)
            self._launch(_softmax_xent_labels, logits.shape[0], logits, labels, losses, grad, zero)
        else:
            self._launch(_softmax_xent_rows, logits.shape[0], logits,
                         targets.astype(logits.dtype, copy=False), losses, grad, zero)
        return losses, grad
