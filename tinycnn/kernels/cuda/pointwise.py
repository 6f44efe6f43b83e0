"""The CUDA tier's pointwise kernels: relu and dropout's threshold, one thread per element."""
from __future__ import annotations

import numpy as np

from .. import rules
from .device import cuda

_relu, _relu_grad, _dropout_keep, _uniform_of = (
    cuda.jit(device=True)(rule) for rule in (rules.relu, rules.relu_grad, rules.dropout_keep, rules.uniform_of))


@cuda.jit
def _relu_forward(x, y):
    k = cuda.grid(1)
    if k < x.size:
        y[k] = _relu(x[k])


@cuda.jit
def _relu_backward(y, dy, dx):
    k = cuda.grid(1)
    if k < y.size:
        dx[k] = _relu_grad(y[k], dy[k])


@cuda.jit
def _dropout_threshold(bits, rate, scale, mask):
    k = cuda.grid(1)
    if k < bits.size:
        mask[k] = _dropout_keep(_uniform_of(bits[k]), rate, scale)


class Pointwise:
    """relu forward and backward, dropout's mask."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        x = self.xp.ascontiguousarray(x)
        y = self.xp.empty_like(x)
        self._launch(_relu_forward, x.size, x.reshape(-1), y.reshape(-1))
        return y

    def relu_backward(self, y, dy):
        y, dy = self.xp.ascontiguousarray(y), self.xp.ascontiguousarray(dy)
        dx = self.xp.empty_like(dy)
        self._launch(_relu_backward, y.size, y.reshape(-1), dy.reshape(-1), dx.reshape(-1))
        return dx

    def dropout_mask(self, shape, rate, rng, dtype):
        """The NumPy tier's draws (:func:`rules.random_bits` of ``rng`` on the host, copied
        to the device once), made uniform, thresholded and scaled on the device: the same
        mask for one seed."""
        dtype = np.dtype(dtype)
        bits = self.to_device(rules.random_bits(shape, rng))
        mask = self.xp.empty(shape, dtype=dtype)
        self._launch(_dropout_threshold, mask.size, bits.reshape(-1), np.float32(rate),
                     dtype.type(1.0 / (1.0 - rate)), mask.reshape(-1))
        return mask
