"""The CUDA tier's pointwise kernels: relu, gelu and dropout's threshold, one thread per element."""
from __future__ import annotations

import numpy as np

from .. import rules
from .device import cuda

_relu, _relu_grad, _cdf, _pdf, _dropout_keep, _uniform_of = (
    cuda.jit(device=True)(rule) for rule in (rules.relu, rules.relu_grad, rules.normal_cdf, rules.normal_pdf,
                                             rules.dropout_keep, rules.uniform_of))


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
def _gelu_forward(x, y):
    k = cuda.grid(1)
    if k < x.size:
        y[k] = x[k] * _cdf(x[k])


@cuda.jit
def _gelu_backward(x, dy, dx):
    k = cuda.grid(1)
    if k < x.size:
        dx[k] = dy[k] * (_cdf(x[k]) + x[k] * _pdf(x[k]))


@cuda.jit
def _dropout_threshold(bits, rate, scale, mask):
    k = cuda.grid(1)
    if k < bits.size:
        mask[k] = _dropout_keep(_uniform_of(bits[k]), rate, scale)


class Pointwise:
    """relu and gelu forward and backward, dropout's mask."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def _map(self, kernel, *arrays):
        """``kernel(*arrays, out)`` with one thread per element, into a new array shaped as
        the last one."""
        arrays = [self.xp.ascontiguousarray(a) for a in arrays]
        out = self.xp.empty_like(arrays[-1])
        self._launch(kernel, out.size, *(a.reshape(-1) for a in arrays), out.reshape(-1))
        return out

    def relu_forward(self, x):
        return self._map(_relu_forward, x)

    def relu_backward(self, y, dy):
        return self._map(_relu_backward, y, dy)

    def gelu_forward(self, x):
        return self._map(_gelu_forward, x)

    def gelu_backward(self, x, dy):
        return self._map(_gelu_backward, x, dy)

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
