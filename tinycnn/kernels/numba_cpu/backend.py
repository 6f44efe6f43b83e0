"""The Numba tier's backend class: its families' kernels, the rest from the NumPy tier."""
from __future__ import annotations

import math
import threading

import numpy as np

from .. import gemm
from ..numpy_tier import NumpyBackend
from .conv import Convolution
from .losses import Losses
from .normalization import Normalization
from .pointwise import Pointwise
from .pool import Pooling
from .updates import Updates


class NumbaBackend(Convolution, Pooling, Pointwise, Normalization, Losses, Updates, NumpyBackend):
    """Numba-compiled kernels; everything not overridden comes from the NumPy tier."""

    name = "numba"

    def __init__(self):
        self._local = threading.local()

    def _scratch(self, purpose, shape, dtype):
        """A scratch array of ``shape`` reused between calls (one growing buffer per purpose,
        dtype and Python thread). Its contents are valid until the next call that asks for
        the same purpose, so kernels only use it within one call."""
        buffers = self._local.__dict__.setdefault("buffers", {})
        key, size = (purpose, np.dtype(dtype)), math.prod(shape)
        if key not in buffers or buffers[key].size < size:
            buffers[key] = np.empty(size, dtype=dtype)
        return buffers[key][:size].reshape(shape)

    def matmul(self, a, b, out=None):
        """``a @ b`` split over the threads (see :mod:`kernels.gemm`)."""
        return gemm.matmul(a, b, out)
