"""The NumPy tier's pointwise kernels: relu, gelu and dropout's mask."""
from __future__ import annotations

import math

import numpy as np

from .. import rules

# NumPy has no erf: math.erf element by element (exact, about 0.1 us per element; the
# Numba tier compiles the same rule into its loop)
_erf = np.frompyfunc(math.erf, 1, 1)


class Pointwise:
    """relu forward and backward, dropout's mask, as NumPy expressions."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        return np.maximum(x, 0)

    def relu_backward(self, y, dy):
        """d relu / dx = 1 where x > 0, else 0 (0 at exactly 0, as Keras)."""
        return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)

    def gelu_forward(self, x):
        """In float64 (as the Numba tier's rule), rounded once to x's dtype: 1 + erf(x / sqrt 2)
        cancels on the negative side, where float32 would lose the digits."""
        x64 = x.astype(np.float64)
        return (0.5 * x64 * (1.0 + _erf(x64 * 0.7071067811865476).astype(np.float64))).astype(x.dtype)

    def gelu_backward(self, x, dy):
        x64 = x.astype(np.float64)
        cdf = 0.5 * (1.0 + _erf(x64 * 0.7071067811865476).astype(np.float64))
        return (dy * (cdf + x64 * 0.3989422804014327 * np.exp(-0.5 * x64 * x64))).astype(dy.dtype)

    def dropout_mask(self, shape, rate, rng, dtype):
        """Inverted dropout: each element is kept with probability 1 - rate (kept when a
        uniform draw is >= rate) and scaled by 1 / (1 - rate), so E[mask] = 1."""
        keep = rules.uniform_of(rules.random_bits(shape, rng)) >= np.float32(rate)
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))
