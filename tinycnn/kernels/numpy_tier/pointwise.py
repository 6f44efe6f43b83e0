"""The NumPy tier's pointwise kernels: relu and dropout's mask."""
from __future__ import annotations

import numpy as np

from .. import rules


class Pointwise:
    """relu forward and backward, dropout's mask, as NumPy expressions."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        return np.maximum(x, 0)

    def relu_backward(self, y, dy):
        """d relu / dx = 1 where x > 0, else 0 (0 at exactly 0, as Keras)."""
        return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)

    def dropout_mask(self, shape, rate, rng, dtype):
        """Inverted dropout: each element is kept with probability 1 - rate (kept when a
        uniform draw is >= rate) and scaled by 1 / (1 - rate), so E[mask] = 1."""
        keep = rules.uniform_of(rules.random_bits(shape, rng)) >= np.float32(rate)
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))
