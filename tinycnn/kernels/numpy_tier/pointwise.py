"""The NumPy tier's pointwise kernels: relu, gelu and dropout's mask."""
from __future__ import annotations

import numpy as np

from .. import rules


def _normal_cdf(x):
    """:func:`rules.normal_cdf` on a whole float64 array (the same erfc fit)."""
    z = np.abs(x) * 0.7071067811865476
    t = 1.0 / (1.0 + 0.5 * z)
    p = np.full_like(z, rules.ERFC_HORNER[0])
    for c in rules.ERFC_HORNER[1:]:
        p = c + t * p
    half_erfc = 0.5 * t * np.exp(p - z * z)
    return np.where(x >= 0, 1.0 - half_erfc, half_erfc)


class Pointwise:
    """relu forward and backward, dropout's mask, as NumPy expressions."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        return np.maximum(x, 0)

    def relu_backward(self, y, dy):
        """d relu / dx = 1 where x > 0, else 0 (0 at exactly 0, as Keras)."""
        return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)

    def gelu_forward(self, x):
        """y = x Phi(x), computed in float64 and rounded once to x's dtype."""
        x64 = x.astype(np.float64)
        return (x64 * _normal_cdf(x64)).astype(x.dtype)

    def gelu_backward(self, x, dy):
        """dx = dy (Phi(x) + x phi(x))."""
        x64 = x.astype(np.float64)
        return (dy * (_normal_cdf(x64) + x64 * 0.3989422804014327 * np.exp(-0.5 * x64 * x64))).astype(dy.dtype)

    def dropout_mask(self, shape, rate, rng, dtype):
        """Inverted dropout: each element is kept with probability 1 - rate (kept when a
        uniform draw is >= rate) and scaled by 1 / (1 - rate), so E[mask] = 1."""
        keep = rules.uniform_of(rules.random_bits(shape, rng)) >= np.float32(rate)
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))
