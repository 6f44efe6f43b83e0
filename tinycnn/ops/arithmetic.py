"""Elementwise arithmetic with NumPy broadcasting. The engine (autograd.unbroadcast) sums
each gradient back to its input's shape, so these backward passes ignore broadcasting."""
from __future__ import annotations

import numpy as np

from .function import Function


class Add(Function):
    """z = x + y;  dz/dx = 1, dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, g):
        return g, g


class Sub(Function):
    """z = x - y;  dz/dx = 1, dz/dy = -1."""

    def forward(self, x, y):
        return x - y

    def backward(self, g):
        return g, -g


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, g):
        return g * self.y, g * self.x


class Div(Function):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -x / y^2 = -z / y."""

    def forward(self, x, y):
        self.y = y
        self.z = x / y
        return self.z

    def backward(self, g):
        gx = g / self.y
        return gx, -gx * self.z


class Neg(Function):
    """z = -x."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """z = x ** p for a constant p;  dz/dx = p x^(p-1)."""

    def forward(self, x, exponent):
        self.x, self.p = x, exponent
        return x ** exponent

    def backward(self, g):
        return (g * (self.p * self.x ** (self.p - 1)),)


class Exp(Function):
    """z = e^x;  dz/dx = z."""

    def forward(self, x):
        self.z = np.exp(x)
        return self.z

    def backward(self, g):
        return (g * self.z,)


class Log(Function):
    """z = ln x;  dz/dx = 1 / x."""

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, g):
        return (g / self.x,)


class Abs(Function):
    """z = |x|;  dz/dx = sign(x) (0 at 0)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.x),)


class Clip(Function):
    """z = min(max(x, lo), hi);  dz/dx = 1 where lo <= x <= hi, else 0 (as TensorFlow's
    clip_by_value: the boundaries themselves pass the gradient)."""

    def forward(self, x, lo, hi):
        self.inside = (x >= lo) & (x <= hi)
        return np.clip(x, lo, hi)

    def backward(self, g):
        return (np.where(self.inside, g, 0).astype(g.dtype, copy=False),)


class Cast(Function):
    """z = x converted to another float dtype; the gradient is converted back."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


class Maximum(Function):
    """z = max(x, y) elementwise;  the gradient goes to the larger input (to x on a tie,
    as TensorFlow's)."""

    def forward(self, x, y):
        self.x_wins = x >= y
        return np.where(self.x_wins, x, y)

    def backward(self, g):
        return np.where(self.x_wins, g, 0), np.where(self.x_wins, 0, g)


class Minimum(Function):
    """z = min(x, y) elementwise;  the gradient goes to the smaller input (to x on a tie)."""

    def forward(self, x, y):
        self.x_wins = x <= y
        return np.where(self.x_wins, x, y)

    def backward(self, g):
        return np.where(self.x_wins, g, 0), np.where(self.x_wins, 0, g)
