"""Where arrays live: the crossing between host NumPy arrays and the current kernel tier's.

The CPU tiers compute on NumPy arrays, so both directions return the array as it is; a GPU
tier copies. Above the op layer nothing asks the tier where an array lives: the execution
plan (:mod:`tinycnn.plan`) moves batches in and outputs out, and the weights once per tier
change; weight and optimizer-state accessors hand out host copies through :func:`to_host`.
"""
from __future__ import annotations

from ..kernels import get_backend


def to_device(array):
    """``array`` as an array of the current tier (copied to the GPU on a GPU tier)."""
    return get_backend().to_device(array)


def to_host(array):
    """A NumPy array with the values of ``array`` (copied back from a GPU tier)."""
    return get_backend().to_host(array)


def tier_name() -> str:
    """The name of the kernel tier in use (``'numba'``, ``'numpy'``, ...)."""
    return get_backend().name
