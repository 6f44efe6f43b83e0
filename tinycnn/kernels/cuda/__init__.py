"""The ``cuda`` kernel tier: the kernel contract as ``numba.cuda`` kernels on the GPU.

Same contract as :class:`kernels.numpy_tier.NumpyBackend` (NHWC, ``pads`` as
``((top, bottom), (left, right))``, ``(output, ctx)`` from each forward), written in Numba's
CUDA dialect: a kernel is a Python function run by thousands of threads at once, each
finding "its" element from ``cuda.grid(1)`` (block index * block size + thread index).

**Device residency.** Every kernel takes and returns *device* arrays and never copies to
the host. On a real GPU the device arrays are CuPy arrays (``cupy.ndarray``); Numba
kernels read them in place through ``__cuda_array_interface__``. Under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``, for machines without a GPU and for CI) plain NumPy
arrays play the device arrays and the kernels run as Python threads. The backend exposes
``xp`` (the array module: ``cupy`` or ``numpy``), ``to_device(host_array)``,
``to_host(array)`` and ``synchronize()``, so callers need nothing but arrays of ``xp``.

How each op maps onto the GPU (one thread per output element unless said otherwise):

* convolution: ``im2col`` (a row of threads per (output pixel, tap), one thread per
  channel, padding read as zero without building a padded copy), a matrix product, a bias
  kernel; backward: the two other matrix products, ``col2im`` written as a *gather* (each
  thread owns one element of dx and adds up the ``dcols`` entries that were copied from it,
  so no two threads write the same cell and no atomics are needed), and the bias gradient
  as column sums;
* matrix products: :func:`_make_gemm` is the classic tiled shared-memory GEMM (the
  teaching kernel: each block stages a TILE x TILE tile of A and of B in shared memory,
  then every thread does TILE multiply-adds from there). By default the conv layers route
  their products to cuBLAS through CuPy (``backend.gemm == "cublas"``) because it is
  many times faster (see ``benchmarks/RESULTS_GPU_kernels.md``); set
  ``backend.gemm = "numba"`` or ``TINYCNN_CUDA_GEMM=numba`` to use the teaching kernel;
* pooling: forward one thread per output; backward again a gather per input cell over the
  (few) windows that contain it: max-pool compares the stored winner index, avg-pool adds
  ``dy / count`` (padding neither added nor counted);
* relu, dropout's threshold and the optimizer updates: one thread per element of the
  flattened arrays; the fused softmax + cross-entropy: one thread per row.

**Dropout's random numbers** are drawn on the host from the given ``numpy.random.Generator``
(``rng.random(shape, dtype=float32)``, exactly the draws of the numpy and numba tiers) and
copied to the device once; only the threshold-and-scale runs on the GPU. This keeps the
three tiers' masks identical for one seed (a device RNG such as Numba's xoroshiro128p would
be faster for huge layers but would give other masks than the CPU tiers).

Accumulators are started from a ``zero`` argument of the arrays' dtype (a literal ``0.0``
would be float64 and silently turn float32 kernels into float64 ones); the scalars of the
optimizer updates are cast to the parameter's dtype before the launch.

Kernels are compiled on first use for each argument type (a second or so each on a real
GPU). The GPU runs them asynchronously in launch order on the default stream, the same
stream CuPy uses; :meth:`CudaBackend.synchronize` waits for them. A launch from Python costs
tens of microseconds, more than most kernels of a small layer take to run, so the tier keeps
the Numba views of CuPy arrays in a cache (see :meth:`CudaBackend._arg`).

``numba.cuda`` comes either from Numba itself (its built-in CUDA target, deprecated since
Numba 0.61; it also holds the simulator used by the tests) or from NVIDIA's ``numba-cuda``
package, which replaces it when installed (the ``cuda`` extra installs it with CuPy).
"""
from .backend import CudaBackend

__all__ = ["CudaBackend"]
