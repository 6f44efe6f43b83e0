"""Kernels: the hot loops of tinycnn, in tiers that share one contract.

A *backend* object bundles one tier's kernels (see :mod:`kernels.contract` for the
contract). The ops in :mod:`tinycnn.ops` call ``get_backend().<kernel>(...)`` and never loop
over pixels themselves, so switching tiers changes speed, not results.

Tiers: ``reference`` (plain loops, for reading and checking), ``numpy`` (im2col + GEMM),
``numba`` (compiled CPU kernels; the default when Numba imports), ``cuda`` (numba.cuda
kernels on CuPy arrays; loaded only on a machine with a GPU, or under Numba's CUDA
simulator when ``NUMBA_ENABLE_CUDASIM=1``).
Choose one with ``tinycnn.set_backend(name)`` or the environment variable
``TINYCNN_BACKEND``.
"""
from __future__ import annotations

import contextlib
import importlib
import os

from . import memory  # noqa: F401  (keeps freed memory in the process: see memory.py)

# name -> (module, class): imported only when first used, so a missing optional
# dependency (Numba, CUDA) only matters to the tier that needs it.
_TIERS = {
    "reference": ("tinycnn.kernels.reference", "ReferenceBackend"),
    "numpy": ("tinycnn.kernels.numpy_tier", "NumpyBackend"),
    "numba": ("tinycnn.kernels.numba_cpu", "NumbaBackend"),
    "cuda": ("tinycnn.kernels.cuda", "CudaBackend"),
}
_instances: dict = {}
_current = None


def available_backends() -> list[str]:
    """Names of the tiers that can be loaded on this machine."""
    names = []
    for name in _TIERS:
        try:
            _load(name)
        except ImportError:
            continue
        names.append(name)
    return names


def _load(name: str):
    if name not in _instances:
        module, cls = _TIERS[name]
        _instances[name] = getattr(importlib.import_module(module), cls)()
    return _instances[name]


def set_backend(name: str):
    """Select the kernel tier used by every op from now on; returns the backend object."""
    global _current
    key = str(name).lower()
    if key not in _TIERS:
        raise ValueError(f"set_backend: unknown backend {name!r}; choose one of {sorted(_TIERS)}")
    try:
        _current = _load(key)
    except ImportError as err:
        raise ImportError(f"set_backend: the {key!r} tier cannot be loaded: {err}") from err
    return _current


def _default_name() -> str:
    requested = os.environ.get("TINYCNN_BACKEND")
    if requested:
        return requested
    return "numba" if "numba" in _TIERS and _numba_importable() else "numpy"


def _numba_importable() -> bool:
    try:
        importlib.import_module("numba")
    except ImportError:
        return False
    return True


def get_backend():
    """The backend object in use (chosen on first use if nobody chose yet)."""
    if _current is None:
        set_backend(_default_name())
    return _current


@contextlib.contextmanager
def using(name=None):
    """``with using('numpy'): ...`` runs the block on that tier (None: the current one),
    then restores the tier that was in use before."""
    previous = get_backend().name
    set_backend(name or previous)
    try:
        yield get_backend()
    finally:
        set_backend(previous)
