"""How the Numba tier's loops are compiled and shared out over tinycnn's threads."""
from __future__ import annotations

from functools import partial

import numba

from .. import gemm
from ..threads import get_num_threads, run_all  # (importing threads sets OpenMP's wait policy first)

compiled = numba.njit(cache=True)

# nogil: Python threads run these side by side. error_model="numpy": x / 0 gives inf or NaN as
# in NumPy instead of a Python exception, and without that check LLVM can vectorise a loop
# that divides (an RMSprop update of 147k values: 420 -> 56 microseconds)
compiled_nogil = numba.njit(cache=True, nogil=True, error_model="numpy")

# as compiled_nogil, and LLVM may fuse a multiply and an add into one FMA (one rounding instead
# of two), nothing else of fast-math: for polynomial loops (float32_math's, GELU's float32 kernels)
compiled_contracting = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})

# a pointwise rule of kernels.rules, compiled into the loops that call it (inlined in Numba's
# IR, so the loop's error model applies to it and LLVM vectorises the whole loop)
rule = numba.njit(inline="always")

SPLIT_WORK = 1 << 16    # input elements below which a pooling kernel runs on one thread (see run)
SPLIT_ELEMENTS = 1 << 20   # the same for the elementwise and optimizer kernels (see run)
SPLIT_MACS = 1 << 21    # multiply-adds below which a convolution (or its backward) runs on one thread


def run(kernel, tasks, *args, split):
    """``kernel(*args, first, end)`` over tasks [0, tasks), one range of tasks per thread
    (:func:`kernels.threads.run_all`) when ``split``, else in one call on this thread;
    returns the calls' results in range order. The caller splits only work that is worth
    it (SPLIT_WORK, SPLIT_ELEMENTS, SPLIT_MACS), since handing a range to another thread
    costs about 30 to 100 microseconds. A single pass over memory pays for it only on large
    arrays: measured with cold caches, a relu of 262k
    values took 166 microseconds on one thread and 264 split in two; an RMSprop update of
    2M values 2.3 ms on one thread and 1.2 ms split.

    Every parallel kernel of this tier runs this way, as a ``nogil`` loop over its range,
    rather than as a Numba ``prange`` loop, which wakes Numba's threads on every call: in a
    training step, where they fall asleep between calls, a ``prange`` relu of a (32, 512)
    batch took 65 microseconds. ``prange`` loops also compile slowly: the two max-pooling
    ones took 2.3 and 1.9 s of a cold first training step (0.66 and 0.39 s now). The
    elementwise loops count with unsigned indices (``np.uintp``): a signed index may be
    negative, so Numba checks each one, and the check stops LLVM from vectorising the
    loop (a relu backward of 1.1M values: 8.9 ms signed, 0.33 ms unsigned)."""
    pieces = max(1, min(tasks, get_num_threads() if split else 1))
    return run_all([partial(kernel, *args, first, end) for first, end in gemm.bounds(tasks, pieces)])
