"""Matrix products split over tinycnn's threads, each piece on single-threaded BLAS.

``C = A @ B`` with A of shape (M, R) and B of shape (R, N) splits three ways, and the
pieces are independent products that NumPy's BLAS runs without holding the GIL, so Python
threads run them side by side:

* by rows of C:     ``C[i0:i1] = A[i0:i1] @ B``                 (M the largest)
* by columns of C:  ``C[:, j0:j1] = A @ B[:, j0:j1]``           (N the largest)
* by the sum:       ``C = sum_p A[:, r_p] @ B[r_p, :]``          (R the largest: a
  Dense layer's weight gradient ``x^T @ dY`` over a large batch)

Convolutions do not come here: the numba tier multiplies their im2col tiles on the same
threads itself (``NumbaBackend._conv_tiles``); this module serves the Dense layers and
any other large product.

Why not let BLAS use its own threads? Measured on 2 cores, OpenBLAS's workers wait for a
scheduler slice at every product once another process is busy, and a training step that
took 14.5 ms took 48 to 970 ms. Here the threads are ordinary Python threads that sleep
until given a piece (:func:`kernels.threads.run_all`): with a busy neighbour a product
simply runs at one core's speed. Measured on the project's 2-core machine, idle: the conv
GEMMs of the seed models (when they were whole im2col products) went from 56-72 to 111-144
GFLOP/s, the same as OpenBLAS's own 2 threads.

The number of pieces is Numba's thread count (:func:`tinycnn.set_num_threads` sets it), so
one setting governs every parallel part of a step. Products under ``MIN_FLOPS`` are not
split: handing a piece to a thread and waiting for it costs about 30 microseconds, and on
the 2-core development machine splitting smaller products (a batch of 32 through a Dense
288 -> 512, 9 MFLOP) made them slower.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from .threads import get_num_threads, run_all

MIN_FLOPS = 16e6


def bounds(size: int, pieces: int) -> list[tuple[int, int]]:
    """``pieces`` consecutive ranges covering [0, size) whose lengths differ by at most one."""
    edges = [size * p // pieces for p in range(pieces + 1)]
    return list(zip(edges[:-1], edges[1:]))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (into ``out`` when given), split over threads when both are 2-D and the
    product is large enough; any other case is plain ``np.matmul``."""
    count = get_num_threads()
    if a.ndim != 2 or b.ndim != 2 or count == 1 or a.shape[1] != b.shape[0]:
        return np.matmul(a, b, out=out)
    (m, r), n = a.shape, b.shape[1]
    if 2.0 * m * r * n < MIN_FLOPS:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    largest, extra = max(m, r, n), []
    if largest == m:
        pieces = [(a[i0:i1], b, out[i0:i1]) for i0, i1 in bounds(m, count)]
    elif largest == n:
        pieces = [(a, b[:, j0:j1], out[:, j0:j1]) for j0, j1 in bounds(n, count)]
    else:
        extra = [np.empty_like(out) for _ in range(count - 1)]
        pieces = [(a[:, r0:r1], b[r0:r1], c) for (r0, r1), c in zip(bounds(r, count), [out] + extra)]
    run_all([partial(np.matmul, a, b, out=c) for a, b, c in pieces])
    for partial_sum in extra:
        out += partial_sum
    return out
