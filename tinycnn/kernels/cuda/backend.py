"""The CUDA tier's backend class: device arrays, kernel launches, and every family."""
from __future__ import annotations

import os

import numpy as np

from ..numpy_tier import NumpyBackend
from .conv import Convolution
from .device import SIMULATED, _cupy, _simulator_requested, cuda
from .gemm import _make_gemm
from .losses import Losses
from .pointwise import Pointwise
from .pool import Pooling
from .updates import Updates


class CudaBackend(Convolution, Pooling, Pointwise, Losses, Updates, NumpyBackend):
    """numba.cuda kernels on device arrays (CuPy on a GPU, NumPy under the simulator).

    Attributes: ``xp`` (the array module of the device arrays), ``simulated`` (True under
    the simulator), ``gemm`` (``"cublas"`` or ``"numba"``: who does the matrix products of
    the conv layers), ``tile`` (the teaching GEMM's tile size), ``threads`` (threads per
    block of the 1-D kernels), ``wrap_args`` (hand Numba cached views of CuPy arrays,
    the default, or the CuPy arrays themselves; ``TINYCNN_CUDA_WRAP=0``).
    """

    name = "cuda"

    def __init__(self, tile=None, gemm=None):
        if SIMULATED and not _simulator_requested():
            # The simulator is for tests that ask for it: once it has been loaded in a process,
            # `available_backends()` must not offer it to code that did not set the variable.
            raise ImportError("the 'cuda' tier runs on Numba's CUDA simulator only while "
                              "NUMBA_ENABLE_CUDASIM=1 is set")
        self.simulated = SIMULATED
        self.xp = np if SIMULATED else _cupy
        # The simulator runs every thread of a block as a Python thread: small blocks there.
        self.threads = 32 if SIMULATED else 256
        self.tile = int(tile or os.environ.get("TINYCNN_CUDA_TILE", 4 if SIMULATED else 16))
        # cuBLAS (through CuPy) needs a real GPU; under the simulator the Numba GEMM does it all.
        choice = "numba" if SIMULATED else (gemm or os.environ.get("TINYCNN_CUDA_GEMM") or "cublas")
        if choice not in ("numba", "cublas"):
            raise ValueError(f"cuda tier: gemm must be 'numba' or 'cublas', got {choice!r}")
        self.gemm = choice
        # True: hand Numba cached views of CuPy arrays; False: the CuPy arrays (see _arg).
        self.wrap_args = os.environ.get("TINYCNN_CUDA_WRAP", "1") != "0"
        self._views = {}

    # ----- moving data ----------------------------------------------------------------
    def to_device(self, array):
        """The array on the device: a CuPy copy of a host array (a device array is returned
        as it is); under the simulator a NumPy array."""
        return self.xp.asarray(array)

    # to_host comes from the NumPy tier: ``array.get()`` for a CuPy array, else the array.

    def synchronize(self):
        """Wait until every kernel launched so far has finished (for timing)."""
        if not SIMULATED:
            cuda.synchronize()
            _cupy.cuda.get_current_stream().synchronize()

    # ----- launching --------------------------------------------------------------------
    def _arg(self, a):
        """What a kernel launch gets for the argument ``a``.

        Numba accepts CuPy arrays as they are, but then (1) synchronises the stream that
        CuPy announces in ``__cuda_array_interface__`` before every launch, although both
        libraries queue on the same default stream, so launch order already orders the
        work; and (2) builds a Numba view of each array, which costs more than the launch
        itself (tens of microseconds, see the benchmark). So a CuPy array is handed over as
        a Numba view made without synchronising, and views are cached by (address, shape,
        strides, dtype): CuPy's memory pool hands the same addresses out again step after
        step, so a training loop finds its views in the cache. A cached view owns nothing
        (it is just that address, shape and strides), so it is valid for whichever live
        array has them now.
        """
        if SIMULATED or not self.wrap_args or not hasattr(a, "__cuda_array_interface__"):
            return a
        if not isinstance(a, _cupy.ndarray):
            return cuda.as_cuda_array(a, sync=False)
        key = (a.data.ptr, a.shape, a.strides, a.dtype.char)
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= 1024:
                self._views.clear()
            view = cuda.from_cuda_array_interface(a.__cuda_array_interface__, owner=None, sync=False)
            self._views[key] = view
        return view

    def _launch_runs(self, kernel, tasks, run, *args):
        """Run ``kernel`` on 2-D blocks: ``blockDim.y`` tasks per block, each task handled
        by ``blockDim.x`` threads (a power of two >= ``run``, at most 32) that share a run
        of ``run`` contiguous values (see :func:`_im2col`)."""
        if tasks <= 0 or run <= 0:
            return
        tx = min(32, 1 << (run - 1).bit_length())
        ty = max(1, self.threads // tx)
        kernel[(tasks + ty - 1) // ty, (tx, ty)](*[self._arg(a) for a in args])

    def _launch(self, kernel, total, *args):
        """Run ``kernel`` with at least ``total`` threads in 1-D blocks of ``self.threads``."""
        if total <= 0:
            return
        blocks = (total + self.threads - 1) // self.threads
        kernel[blocks, self.threads](*[self._arg(a) for a in args])

    def _zero(self, dtype):
        return np.dtype(dtype).type(0)

    def matmul(self, a, b, out=None):
        """``a @ b`` for device arrays, by cuBLAS (``gemm == "cublas"``, and for stacked
        products) or by the tiled Numba kernel (``gemm == "numba"``); into ``out`` when given."""
        if self.gemm == "cublas" or a.ndim != 2 or b.ndim != 2:
            return self.xp.matmul(a, b, out=out)
        return self.numba_matmul(a, b, out)

    def numba_matmul(self, a, b, out=None):
        """``a @ b`` by the teaching kernel :func:`_make_gemm`."""
        m, n = a.shape[0], b.shape[1]
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
        dtype = np.result_type(a.dtype, b.dtype)
        if out is None:
            out = self.xp.empty((m, n), dtype=dtype)
        if m == 0 or n == 0:
            return out
        if a.shape[1] == 0:
            out[...] = 0
            return out
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        t = self.tile
        kernel = _make_gemm(t, dtype)
        kernel[((n + t - 1) // t, (m + t - 1) // t), (t, t)](self._arg(a), self._arg(b), self._arg(out))
        return out
