"""The ``numba`` kernel tier: compiled CPU loops, the default tier.

Same contract as :class:`kernels.numpy_tier.NumpyBackend` (NHWC, ``pads`` as
``((top, bottom), (left, right))``, ``(output, ctx)`` from each forward), with the hot loops
compiled by Numba:

* the convolution's forward pass is a direct kernel (:func:`_conv_direct`) that keeps a
  block of output pixels x 2 vectors of filters in vector registers (:mod:`kernels.simd`;
  8 pixels x 32 float32 filters with AVX-512, 4 x 16 with AVX2), and applies the relu as it
  stores when the layer asks for one (``conv2d_relu_forward``) and, in inference, a
  following 2x2 max-pooling (``conv2d_max_pool_values``);
* its backward pass computes the weight gradient with a direct kernel of the same kind
  (:func:`_conv_weight_grad`, 6 taps x 2 vectors of filters in registers, summed over the
  output pixels), and the input gradient of a stride-1 convolution as a forward
  convolution of dy by the same direct kernel; a strided one's one cache-sized tile at a
  time: dcols = dY_tile @ W^T on BLAS (NumPy ``@``, single-threaded in each thread), then
  col2im adds the tile into dx;
* pooling, relu, dropout's threshold, the fused softmax + cross-entropy and the optimizer
  updates are single passes over memory (NumPy needs several temporaries for each).

Every kernel computes in the dtype of its arrays (float32 stays float32; scalars are cast
to that dtype before the call) and works for float64 too. Kernels are compiled on first
use and cached on disk (``cache=True``), so only the first run on a machine pays the
compile time. Parallel kernels are ``nogil`` loops over a range that :func:`loops.run` hands
to tinycnn's threads (:mod:`kernels.threads`), one range per thread, only when the work is
large enough to pay for the hand-over.
"""
from .backend import NumbaBackend

__all__ = ["NumbaBackend"]
