"""2-D pooling over NHWC windows."""
from __future__ import annotations

from .function import Function
from ..kernels import get_backend


class MaxPool2D(Function):
    """y[n,i,j,c] = max_{a,b} x_pad[n, i*sh + a, j*sw + b, c], padding with -inf so padded
    cells never win. dL/dx: each output's gradient goes to the single cell that won its
    window (the first maximum in row-major order when several tie), never split."""

    def forward(self, x, pool, strides, pads):
        self.kernels = get_backend()
        if not self.recording:   # inference: no backward will need the winners
            return self.kernels.max_pool2d_values(x, pool, strides, pads)
        y, self.ctx = self.kernels.max_pool2d_forward(x, pool, strides, pads)
        return y

    def backward(self, g):
        return (self.kernels.max_pool2d_backward(self.ctx, g),)


class AvgPool2D(Function):
    """y[n,i,j,c] = (1 / m_ij) sum of the m_ij real (unpadded) cells of the window;
    dL/dx: each of those cells receives g / m_ij."""

    def forward(self, x, pool, strides, pads):
        self.kernels = get_backend()
        y, self.ctx = self.kernels.avg_pool2d_forward(x, pool, strides, pads)
        return y

    def backward(self, g):
        return (self.kernels.avg_pool2d_backward(self.ctx, g),)
