"""Matrix product."""
from __future__ import annotations

import numpy as np

from ..autograd import Function


class MatMul(Function):
    """Z = X @ Y for arrays of 2 or more axes (leading axes are stacked as in NumPy);
    dL/dX = G @ Y^T,  dL/dY = X^T @ G. Sums over broadcast stack axes happen in
    autograd.unbroadcast."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x @ y

    def backward(self, g):
        return g @ np.swapaxes(self.y, -1, -2), np.swapaxes(self.x, -1, -2) @ g
