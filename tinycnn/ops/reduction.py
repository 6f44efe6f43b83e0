"""Reductions over axes: sum, mean and max."""
from __future__ import annotations

import numpy as np

from .function import Function


def _array(result):
    """NumPy reductions to 0-d return a scalar; keep everything an array."""
    return np.asarray(result) if isinstance(result, np.generic) else result


def _expand(g, shape, axis, keepdims):
    """Give a reduced gradient its reduced axes back (as size 1) so it broadcasts."""
    if axis is None or keepdims:
        return g.reshape([1] * len(shape)) if axis is None and not keepdims else g
    axes = tuple(a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,)))
    return np.expand_dims(g, axes)


class Sum(Function):
    """z = sum of x over ``axis``;  dz/dx = 1 for every summed element."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return _array(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, g):
        return (np.broadcast_to(_expand(g, self.shape, self.axis, self.keepdims), self.shape),)


class Mean(Function):
    """z = mean of x over ``axis`` (m elements each);  dz/dx = 1 / m."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = _array(x.mean(axis=axis, keepdims=keepdims))
        self.m = x.size // max(out.size, 1)
        return out

    def backward(self, g):
        g = _expand(g, self.shape, self.axis, self.keepdims) / g.dtype.type(self.m)
        return (np.broadcast_to(g, self.shape),)


class Max(Function):
    """z = max of x over ``axis``;  dz/dx = 1 at the maximum, shared equally between tied
    maxima (as TensorFlow's reduce_max), 0 elsewhere."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        top = x.max(axis=axis, keepdims=True)
        self.mask = (x == top)
        self.count = self.mask.sum(axis=axis, keepdims=True)
        return _array(top if keepdims else x.max(axis=axis))

    def backward(self, g):
        g = _expand(g, self.shape, self.axis, self.keepdims)
        return (g * self.mask / self.count.astype(g.dtype),)
