"""Activation functions."""
from __future__ import annotations

import numpy as np

from .function import Function
from ..kernels import get_backend


class ReLU(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0, else 0 (0 at exactly 0, as Keras)."""

    def forward(self, x):
        self.kernels = get_backend()
        self.z = self.kernels.relu_forward(x)
        return self.z

    def backward(self, g):
        return (self.kernels.relu_backward(self.z, g),)


class GELU(Function):
    """z = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2;  dz/dx = Phi(x) + x phi(x), with Phi and
    phi the standard normal's distribution and density (the exact form: Keras's
    ``gelu(approximate=False)``, PyTorch's ``nn.GELU()``)."""

    def forward(self, x):
        self.kernels, self.x = get_backend(), x
        return self.kernels.gelu_forward(x)

    def backward(self, g):
        return (self.kernels.gelu_backward(self.x, g),)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z)."""

    def forward(self, x):
        # Written with exp(-|x|) so that neither branch overflows.
        e = np.exp(-np.abs(x))
        self.z = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return self.z

    def backward(self, g):
        return (g * self.z * (1 - self.z),)


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z^2."""

    def forward(self, x):
        self.z = np.tanh(x)
        return self.z

    def backward(self, g):
        return (g * (1 - self.z * self.z),)


class Softmax(Function):
    """z_i = e^{x_i} / sum_j e^{x_j} along ``axis`` (computed after subtracting the max);
    dL/dx = z * (g - sum(g * z))."""

    def forward(self, x, axis=-1):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        self.z, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.z

    def backward(self, g):
        z = self.z
        return (z * (g - (g * z).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """z = x - logsumexp(x) along ``axis``;  dL/dx = g - softmax(x) * sum(g)."""

    def forward(self, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        z = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        self.p, self.axis = np.exp(z), axis
        return z

    def backward(self, g):
        return (g - self.p * g.sum(axis=self.axis, keepdims=True),)
