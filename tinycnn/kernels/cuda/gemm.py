"""The teaching GEMM: a tiled shared-memory matrix product written with numba.cuda."""
from __future__ import annotations

import numpy as np

from .device import cuda

_gemm_kernels: dict = {}



def _make_gemm(tile: int, dtype):
    """The tiled shared-memory matrix product ``c = a @ b`` for ``a`` (M, K), ``b`` (K, N).

    Launch with blocks of (tile, tile) threads on a grid of (ceil(N/tile), ceil(M/tile))
    blocks: thread (ty, tx) of block (by, bx) computes c[by*tile + ty, bx*tile + tx]. The
    K axis is walked one tile at a time: the block copies a tile of ``a`` and one of ``b``
    into shared memory (each thread one element of each, zero outside the matrices), waits
    for everybody (``syncthreads``), does its ``tile`` multiply-adds from the fast shared
    copies, and waits again before the tiles are overwritten. Every element of ``a`` and
    ``b`` is thus read from global memory M/tile or N/tile times instead of M or N times.
    ``a`` and ``b`` may be strided views (e.g. a transpose); ``c`` is written, not added to.
    """
    key = (tile, np.dtype(dtype).name)
    if key in _gemm_kernels:
        return _gemm_kernels[key]
    scalar = np.dtype(dtype).type

    @cuda.jit
    def gemm(a, b, c):
        tile_a = cuda.shared.array((tile, tile), dtype)
        tile_b = cuda.shared.array((tile, tile), dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row = cuda.blockIdx.y * tile + ty
        col = cuda.blockIdx.x * tile + tx
        m, depth = a.shape
        n = b.shape[1]
        acc = scalar(0)
        for k0 in range(0, depth, tile):
            if row < m and k0 + tx < depth:
                tile_a[ty, tx] = a[row, k0 + tx]
            else:
                tile_a[ty, tx] = 0
            if k0 + ty < depth and col < n:
                tile_b[ty, tx] = b[k0 + ty, col]
            else:
                tile_b[ty, tx] = 0
            cuda.syncthreads()
            for kk in range(tile):
                acc += tile_a[ty, kk] * tile_b[kk, tx]
            cuda.syncthreads()
        if row < m and col < n:
            c[row, col] = acc

    _gemm_kernels[key] = gemm
    return gemm

