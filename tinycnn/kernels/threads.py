"""The thread pools behind the kernels: tinycnn's own threads (:func:`run_all`: the numba
tier's kernels take one range of the work each, and :mod:`kernels.gemm` splits a large
matrix product into one piece per thread), Numba's (whose size sets how many threads
tinycnn uses) and the BLAS library's (NumPy's matrix products, which every piece calls).

Numba's thread count is every core by default, and the work is split into as many pieces
as Numba has threads. tinycnn's model calls (fit, evaluate, predict, ...) run
BLAS with one thread per piece unless :func:`set_num_threads` asks for more, and restore
the caller's BLAS setting afterwards. Why one: BLAS workers sleep between products, and on
a machine where another process is busy each product then waits for them to be scheduled;
measured on 2 cores, that made training steps 3 to 60 times slower (see
:func:`set_num_threads`).

Importing this module also asks OpenMP (Numba's default thread pool) to let idle threads
sleep rather than spin, unless ``OMP_WAIT_POLICY`` is already set: a spinning idle thread
holds a core that another process needs. This must happen before Numba starts its pool,
hence here, on ``import tinycnn``.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from threadpoolctl import ThreadpoolController  # noqa: E402

try:
    import numba  # noqa: E402
except ImportError:  # the numpy tier still works; only the BLAS pool is then controlled
    numba = None

_controller = ThreadpoolController()
_pool: ThreadPoolExecutor | None = None


def max_threads() -> int:
    """The most threads the kernels can use (Numba's pool size, else the CPU count)."""
    return numba.config.NUMBA_NUM_THREADS if numba is not None else (os.cpu_count() or 1)


_blas_threads = int(os.environ.get("TINYCNN_BLAS_THREADS", "1"))


def set_num_threads(n: int, blas_threads: int = 1) -> None:
    """Use ``n`` threads in the numba tier's kernels and in the split matrix products
    (:mod:`kernels.gemm`), and ``blas_threads`` BLAS threads inside each piece of a product
    that tinycnn's models run (see :func:`blas_scope`); ``n * blas_threads`` should not
    exceed the cores.

    BLAS gets 1 thread by default: measured here on 2 cores with another busy process, a
    training step of seed003_cifar10_small took 14.5 ms with Numba 2 + BLAS 1 threads, 48 to
    970 ms with BLAS 2 (its sleeping workers wait for a scheduler slice at every product),
    and 19.6 ms with 1 + 1. Since products are split over tinycnn's own threads, more BLAS
    threads rarely help.
    """
    global _blas_threads
    for name, value in (("n", n), ("blas_threads", blas_threads)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max_threads():
            raise ValueError(f"set_num_threads: {name} must be an int from 1 to {max_threads()} "
                             f"(the cores available), got {value!r}")
    if numba is not None:
        numba.set_num_threads(n)
    _blas_threads = blas_threads


def get_num_threads() -> int:
    """The number of threads the kernels and the split products use (Numba's thread count)."""
    return numba.get_num_threads() if numba is not None else 1


def get_blas_threads() -> int:
    """The number of BLAS threads tinycnn's models compute with."""
    return _blas_threads


def blas_scope(method):
    """Decorator for a model method: run it with tinycnn's BLAS thread count, restoring the
    caller's setting afterwards (importing tinycnn never changes NumPy's own behaviour)."""
    @functools.wraps(method)
    def scoped(*args, **kwargs):
        with _controller.limit(limits=_blas_threads, user_api="blas"):
            return method(*args, **kwargs)
    return scoped


def run_all(calls) -> list:
    """Run every zero-argument function in ``calls`` side by side on tinycnn's threads (the
    first on the calling thread, the others on a pool of ``max_threads() - 1`` workers that
    sleep until given one) and return their results in order. The functions run in
    parallel only while they release the GIL: NumPy's BLAS products and the kernels compiled
    with ``nogil=True`` do."""
    global _pool
    if len(calls) == 1:
        return [calls[0]()]
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(max_threads() - 1, 1), thread_name_prefix="tinycnn")
    futures = [_pool.submit(call) for call in calls[1:]]
    first = calls[0]()
    return [first] + [future.result() for future in futures]
