"""Matrix product."""
from __future__ import annotations

import numpy as np

from .function import Function
from ..kernels import get_backend


class MatMul(Function):
    """Z = X @ Y for arrays of 2 or more axes (leading axes are stacked as in NumPy);
    dL/dX = G @ Y^T,  dL/dY = X^T @ G, each only when the graph needs it (a first Dense
    layer's input is the data: its product would be a third of the layer's work). Sums
    over broadcast stack axes happen in autograd.unbroadcast."""

    def forward(self, x, y):
        self.x, self.y, self.kernels = x, y, get_backend()
        return self.kernels.matmul(x, y)

    def backward(self, g):
        product = self.kernels.matmul
        need_x, need_y = self.needs_input_grad
        return (product(g, np.swapaxes(self.y, -1, -2)) if need_x else None,
                product(np.swapaxes(self.x, -1, -2), g) if need_y else None)
