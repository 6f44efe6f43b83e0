"""Matrix product."""
from __future__ import annotations

import numpy as np

from .function import Function
from ..kernels import get_backend


class MatMul(Function):
    """Z = X @ Y for arrays of 2 or more axes (leading axes are stacked as in NumPy);
    dL/dX = G @ Y^T,  dL/dY = X^T @ G. Sums over broadcast stack axes happen in
    autograd.unbroadcast."""

    def forward(self, x, y):
        self.x, self.y, self.kernels = x, y, get_backend()
        return self.kernels.matmul(x, y)

    def backward(self, g):
        product = self.kernels.matmul
        return product(g, np.swapaxes(self.y, -1, -2)), product(np.swapaxes(self.x, -1, -2), g)
