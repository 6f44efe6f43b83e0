"""The ``numpy`` kernel tier: vectorised NumPy, convolution by im2col + one GEMM.

It implements every method of :mod:`kernels.contract` (the reference, Numba and CUDA tiers
subclass :class:`NumpyBackend` and override what they speed up), one module per family.
"""
from .backend import NumpyBackend
from .windows import add_windows, crop_hw, pad_hw, windows

__all__ = ["NumpyBackend", "add_windows", "crop_hw", "pad_hw", "windows"]
