"""One knob for both thread pools behind the kernels: Numba's (the compiled loops) and the
BLAS library's (NumPy's matrix products, which the convolutions use).

Setting them together keeps the two from oversubscribing the cores: the kernels of one
layer run one after the other, so each pool may use every core, but no more. On a machine
shared with other busy processes, ``set_num_threads(1)`` is often faster, because a
parallel loop waits for its slowest thread.

Importing this module also asks OpenMP (Numba's default thread pool) to let idle threads
sleep rather than spin, unless ``OMP_WAIT_POLICY`` is already set: a spinning idle thread
holds a core that another process needs, and when the machine is busy each parallel loop
then waits a scheduler time slice (milliseconds) for its threads. This must happen before
Numba starts its pool, hence here, on ``import tinycnn``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from threadpoolctl import ThreadpoolController  # noqa: E402

try:
    import numba  # noqa: E402
except ImportError:  # the numpy tier still works; only the BLAS pool is then controlled
    numba = None

_controller = ThreadpoolController()


def max_threads() -> int:
    """The most threads the kernels can use (Numba's pool size, else the CPU count)."""
    return numba.config.NUMBA_NUM_THREADS if numba is not None else (os.cpu_count() or 1)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in Numba's parallel loops and in BLAS, from now on."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= max_threads():
        raise ValueError(f"set_num_threads: n must be an int from 1 to {max_threads()} "
                         f"(the cores available), got {n!r}")
    if numba is not None:
        numba.set_num_threads(n)
    _controller.limit(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The number of threads the kernels use: Numba's count (which BLAS follows after
    :func:`set_num_threads`), or the BLAS count without Numba."""
    if numba is not None:
        return numba.get_num_threads()
    return min([pool["num_threads"] for pool in _controller.select(user_api="blas").info()],
               default=1)
