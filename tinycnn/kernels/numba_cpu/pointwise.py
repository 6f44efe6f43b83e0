"""The Numba tier's pointwise kernels: relu and dropout's threshold, one pass each."""
from __future__ import annotations

import numpy as np

from .. import rules
from . import loops
from .loops import compiled_nogil, rule

_relu, _relu_grad, _dropout_keep = rule(rules.relu), rule(rules.relu_grad), rule(rules.dropout_keep)
_uniform_of = rule(rules.uniform_of)


@compiled_nogil
def _relu_forward(x, y, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        y[k] = _relu(x[k])


@compiled_nogil
def _relu_backward(y, dy, dx, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        dx[k] = _relu_grad(y[k], dy[k])


@compiled_nogil
def _dropout_threshold(bits, rate, scale, mask, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        mask[k] = _dropout_keep(_uniform_of(bits[k]), rate, scale)


class Pointwise:
    """relu forward and backward, dropout's mask."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        x = np.ascontiguousarray(x)
        y = np.empty_like(x)
        loops.run(_relu_forward, x.size, x.reshape(-1), y.reshape(-1), split=x.size >= loops.SPLIT_ELEMENTS)
        return y

    def relu_backward(self, y, dy):
        y, dy = np.ascontiguousarray(y), np.ascontiguousarray(dy)
        dx = np.empty_like(dy)
        loops.run(_relu_backward, y.size, y.reshape(-1), dy.reshape(-1), dx.reshape(-1),
               split=y.size >= loops.SPLIT_ELEMENTS)
        return dx

    def dropout_mask(self, shape, rate, rng, dtype):
        """Same draws as the NumPy tier (:func:`rules.random_bits` from ``rng``, kept when
        their uniform is >= rate, scaled by 1 / (1 - rate)), made uniform, thresholded and
        scaled in one pass."""
        dtype = np.dtype(dtype)
        bits = rules.random_bits(shape, rng)
        mask = np.empty(shape, dtype=dtype)
        loops.run(_dropout_threshold, mask.size, bits.reshape(-1), np.float32(rate), dtype.type(1.0 / (1.0 - rate)),
               mask.reshape(-1), split=mask.size >= loops.SPLIT_ELEMENTS)
        return mask
