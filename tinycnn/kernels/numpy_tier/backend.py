"""The NumPy tier's backend class: every family's kernels, on NumPy arrays."""
from __future__ import annotations

import numpy as np

from ..contract import KernelContract
from .conv import Convolution
from .losses import Losses
from .normalization import Normalization
from .pointwise import Pointwise
from .pool import Pooling
from .updates import Updates


class NumpyBackend(Convolution, Pooling, Pointwise, Normalization, Losses, Updates, KernelContract):
    """Vectorised NumPy kernels, one mixin per family; the baseline every other tier
    subclasses, overriding what it speeds up."""

    name = "numpy"
    xp = np  # the array module of this tier's arrays (CuPy for a GPU tier)

    # ----- where arrays live ----------------------------------------------------------
    def to_device(self, array):
        """An array of this tier (CPU tiers: a NumPy array; a GPU tier copies to the GPU)."""
        return np.asarray(self.to_host(array))

    @staticmethod
    def to_host(array):
        """A NumPy array with the same values (GPU arrays are copied back)."""
        return array.get() if hasattr(array, "get") and not isinstance(array, np.ndarray) else array

    # ----- matrix product -------------------------------------------------------------
    def matmul(self, a, b, out=None):
        """``a @ b`` as in NumPy (stacked leading axes allowed), into ``out`` when given."""
        return np.matmul(a, b, out=out)
