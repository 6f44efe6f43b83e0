"""Inverted dropout."""
from __future__ import annotations

from .function import Function
from ..kernels import get_backend


class Dropout(Function):
    """Training: z = x * mask with mask = keep / (1 - rate), keep ~ Bernoulli(1 - rate),
    so E[z] = x and inference needs no rescaling;  dz/dx = mask."""

    def forward(self, x, rate, rng):
        self.mask = get_backend().dropout_mask(x.shape, rate, rng, x.dtype)
        return x * self.mask

    def backward(self, g):
        return (g * self.mask,)
