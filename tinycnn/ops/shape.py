"""Ops that move values without changing them: reshape, transpose, indexing."""
from __future__ import annotations

import numpy as np

from .function import Function


class Reshape(Function):
    """z = x with a new shape (same element order);  dz/dx reshapes back."""

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, g):
        return (g.reshape(self.shape),)


class Transpose(Function):
    """z = x with permuted axes;  the gradient applies the inverse permutation."""

    def forward(self, x, axes=None):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):
        inverse = None if self.axes is None else tuple(np.argsort(self.axes))
        return (g.transpose(inverse),)


class GetItem(Function):
    """z = x[index];  dz/dx scatters g back to the indexed positions (adding where an
    index repeats)."""

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        out = x[index]
        return np.asarray(out) if isinstance(out, np.generic) else out

    def backward(self, g):
        dx = np.zeros_like(g, shape=self.shape, dtype=self.dtype)  # on g's device
        np.add.at(dx, self.index, g)
        return (dx,)


class Concatenate(Function):
    """z = the inputs joined along ``axis``;  dz/dx_i is the slice of g that x_i filled."""

    def forward(self, *xs, axis):
        self.axis = axis
        self.cuts = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(self, g):
        return tuple(np.split(g, self.cuts, axis=self.axis))
