"""2-D convolution (a cross-correlation, as in Keras: no kernel flip)."""
from __future__ import annotations

from .function import Function
from ..kernels import get_backend


class Conv2D(Function):
    """y[n,i,j,f] = b[f] + sum_{a,b,c} x_pad[n, i*sh + a, j*sw + b, c] * w[a, b, c, f]

    Shapes: x (N, H, W, Cin), w (kh, kw, Cin, Cout), b (Cout,), y (N, oh, ow, Cout) with
    oh, ow from :mod:`kernels.geometry` ('valid': floor((H - kh) / sh) + 1; 'same':
    ceil(H / sh)).

    As matrices (the numpy tier does exactly this): im2col gathers every window into
    ``cols`` of shape (N*oh*ow, kh*kw*Cin), and with ``W = w.reshape(kh*kw*Cin, Cout)``:

    * forward:  ``Y = cols @ W``               (N*oh*ow, Cout)
    * backward: ``dW = cols^T @ dY``           (kh*kw*Cin, Cout)
    *           ``dcols = dY @ W^T``           (N*oh*ow, kh*kw*Cin), then col2im adds each
      row back onto the pixels its window read, giving dx;  ``db = sum of dY over rows``.

    With ``relu=True`` the op is ``z = relu(y)`` in one node (the tier may apply the relu as
    it writes y), and the backward first masks the gradient: dL/dy = g where z > 0, else 0.

    With ``pool=True`` the op's output is the 2x2, stride 2 max-pooling of z (or y), the
    layers ``Conv2D`` + ``MaxPooling2D(2)`` in one node. In inference (no backward will
    run) the tier pools inside the convolution kernel and the full-size z is never
    written; when recording, z is pooled by the pooling kernel, which keeps each window's
    winner, and the backward first sends g to the winners (see ``pooling.MaxPool2D``).
    """

    def forward(self, x, w, *bias, strides, pads, relu=False, pool=False):
        self.kernels = get_backend()
        b = bias[0] if bias else None
        self.has_bias = bool(bias)
        if pool and not self.recording:
            return self.kernels.conv2d_max_pool_values(x, w, b, strides, pads, relu)
        run = self.kernels.conv2d_relu_forward if relu else self.kernels.conv2d_forward
        y, self.ctx = run(x, w, b, strides, pads)
        self.relu_output = y if relu else None
        self.pool_ctx = None
        if pool:
            y, self.pool_ctx = self.kernels.max_pool2d_forward(y, (2, 2), (2, 2), ((0, 0), (0, 0)))
        return y

    def backward(self, g):
        if self.pool_ctx is not None:
            g = self.kernels.max_pool2d_backward(self.pool_ctx, g)
        if self.relu_output is not None:
            g = self.kernels.relu_backward(self.relu_output, g)
        need_x, need_w = self.needs_input_grad[:2]
        if not (need_x or need_w):  # a frozen kernel on the data (the speedrun's whitening layer)
            return None, None, g.sum(axis=(0, 1, 2))
        # The first layer's input (the images) needs no gradient: skip dcols and col2im.
        dx, dw, db = self.kernels.conv2d_backward(self.ctx, g, need_dx=need_x)
        return (dx, dw, db) if self.has_bias else (dx, dw)
