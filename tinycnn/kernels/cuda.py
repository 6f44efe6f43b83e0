"""The ``cuda`` kernel tier: the kernel contract as ``numba.cuda`` kernels on the GPU.

Same contract as :class:`kernels.numpy_tier.NumpyBackend` (NHWC, ``pads`` as
``((top, bottom), (left, right))``, ``(output, ctx)`` from each forward), written in Numba's
CUDA dialect: a kernel is a Python function run by thousands of threads at once, each
finding "its" element from ``cuda.grid(1)`` (block index * block size + thread index).

**Device residency.** Every kernel takes and returns *device* arrays and never copies to
the host. On a real GPU the device arrays are CuPy arrays (``cupy.ndarray``); Numba
kernels read them in place through ``__cuda_array_interface__``. Under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``, for machines without a GPU and for CI) plain NumPy
arrays play the device arrays and the kernels run as Python threads. The backend exposes
``xp`` (the array module: ``cupy`` or ``numpy``), ``to_device(host_array)``,
``to_host(array)`` and ``synchronize()``, so callers need nothing but arrays of ``xp``.

How each op maps onto the GPU (one thread per output element unless said otherwise):

* convolution: ``im2col`` (a row of threads per (output pixel, tap), one thread per
  channel, padding read as zero without building a padded copy), a matrix product, a bias
  kernel; backward: the two other matrix products, ``col2im`` written as a *gather* (each
  thread owns one element of dx and adds up the ``dcols`` entries that were copied from it,
  so no two threads write the same cell and no atomics are needed), and the bias gradient
  as column sums;
* matrix products: :func:`_make_gemm` is the classic tiled shared-memory GEMM (the
  teaching kernel: each block stages a TILE x TILE tile of A and of B in shared memory,
  then every thread does TILE multiply-adds from there). By default the conv layers route
  their products to cuBLAS through CuPy (``backend.gemm == "cublas"``) because it is
  many times faster (see ``benchmarks/RESULTS_GPU_kernels.md``); set
  ``backend.gemm = "numba"`` or ``TINYCNN_CUDA_GEMM=numba`` to use the teaching kernel;
* pooling: forward one thread per output; backward again a gather per input cell over the
  (few) windows that contain it: max-pool compares the stored winner index, avg-pool adds
  ``dy / count`` (padding neither added nor counted);
* relu, dropout's threshold and the optimizer updates: one thread per element of the
  flattened arrays; the fused softmax + cross-entropy: one thread per row.

**Dropout's random numbers** are drawn on the host from the given ``numpy.random.Generator``
(``rng.random(shape, dtype=float32)``, exactly the draws of the numpy and numba tiers) and
copied to the device once; only the threshold-and-scale runs on the GPU. This keeps the
three tiers' masks identical for one seed (a device RNG such as Numba's xoroshiro128p would
be faster for huge layers but would give other masks than the CPU tiers).

Accumulators are started from a ``zero`` argument of the arrays' dtype (a literal ``0.0``
would be float64 and silently turn float32 kernels into float64 ones); the scalars of the
optimizer updates are cast to the parameter's dtype before the launch.

Kernels are compiled on first use for each argument type (a second or so each on a real
GPU). The GPU runs them asynchronously in launch order on the default stream, the same
stream CuPy uses; :meth:`CudaBackend.synchronize` waits for them. A launch from Python costs
tens of microseconds, more than most kernels of a small layer take to run, so the tier keeps
the Numba views of CuPy arrays in a cache (see :meth:`CudaBackend._arg`).

``numba.cuda`` comes either from Numba itself (its built-in CUDA target, deprecated since
Numba 0.61; it also holds the simulator used by the tests) or from NVIDIA's ``numba-cuda``
package, which replaces it when installed (the ``cuda`` extra installs it with CuPy).
"""
from __future__ import annotations

import math
import os
import sys
from types import SimpleNamespace

import numpy as np

from .geometry import padded_output_size, window_cells, window_output_shape
from .numpy_tier import NumpyBackend

_SIM_HELP = ("the 'cuda' tier needs an NVIDIA GPU with CuPy and numba-cuda installed "
             "(pip install 'tinycnn[cuda]'), or Numba's CUDA simulator (set the environment "
             "variable NUMBA_ENABLE_CUDASIM=1 before starting Python; slow, for testing)")


def _simulator_requested() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0").strip() not in ("", "0")


def _import_cuda():
    """Import ``numba.cuda`` in the right mode; returns ``(cuda, simulated, cupy_or_None)``.

    Raises ImportError (so that ``available_backends()`` leaves the tier out) when neither a
    usable GPU nor the simulator is there. Nothing is imported before this is called."""
    import numba  # noqa: F401
    from numba.core import config

    loaded = sys.modules.get("numba.cuda")
    if loaded is not None:
        simulated = "simulator" in getattr(sys.modules.get("numba.cuda.cudadrv"), "__name__", "")
        if _simulator_requested() and not simulated:
            raise ImportError("NUMBA_ENABLE_CUDASIM=1 was set after numba.cuda had already been "
                              "imported without the simulator; set it before starting Python")
    else:
        simulated = _simulator_requested()
        if simulated:
            # numba read its configuration when it was first imported, maybe before the
            # variable was set; numba.cuda looks at this flag when it is imported.
            config.ENABLE_CUDASIM = 1
    if simulated:
        from numba import cuda
        return cuda, True, None
    try:
        import cupy
    except ImportError as err:
        raise ImportError(f"{_SIM_HELP}; CuPy is not installed ({err})") from err
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # cupy raises CUDARuntimeError without a driver or a device
        raise ImportError(f"{_SIM_HELP}; CuPy found no usable GPU ({err})") from err
    if count < 1:
        raise ImportError(f"{_SIM_HELP}; CuPy found no GPU")
    try:
        from numba import cuda
    except ImportError as err:
        raise ImportError(f"{_SIM_HELP}; numba.cuda cannot be imported ({err})") from err
    if not cuda.is_available():
        raise ImportError(f"{_SIM_HELP}; numba.cuda sees no GPU")
    _check_compiles(cuda, cupy)
    return cuda, False, cupy


def _check_compiles(cuda, cupy):
    """Compile and run one tiny kernel, so a Numba/NumPy/driver mismatch shows up as an
    ImportError at ``set_backend('cuda')`` rather than inside the first training step."""
    if not hasattr(np, "row_stack"):
        # numba-cuda 0.30 still registers an overload for np.row_stack when it compiles its
        # first kernel, and NumPy 2.5 removed that alias of np.vstack: put it back.
        np.row_stack = np.vstack

    def fill(out, value):
        k = cuda.grid(1)
        if k < out.size:
            out[k] = value

    try:
        out = cupy.zeros(4, dtype=np.float32)
        cuda.jit(fill)[1, 32](cuda.as_cuda_array(out, sync=False), np.float32(2))
        ok = float(out.sum()) == 8.0
    except Exception as err:
        raise ImportError(f"the 'cuda' tier: numba.cuda cannot compile and run a kernel ({err!r})") from err
    if not ok:
        raise ImportError("the 'cuda' tier: a test kernel gave a wrong result")


cuda, SIMULATED, _cupy = _import_cuda()


# ----- convolution: im2col and its adjoint (gather form) ------------------------------------
@cuda.jit
def _im2col(x, kh, kw, sh, sw, top, left, oh, ow, cols):
    """cols[(n*oh + i)*ow + j, (a*kw + b)*C + c] = x[n, i*sh + a - top, j*sw + b - left, c],
    zero where that pixel lies in the padding.

    2-D blocks: thread row ``ty`` of block ``bx`` takes the task ``bx * blockDim.y + ty``,
    one (output pixel, tap) pair, i.e. the run of C channels that one tap copies; the
    ``blockDim.x`` threads of that row copy the channels (neighbouring threads, neighbouring
    addresses, so reads and writes coalesce). The index arithmetic, whose integer divisions
    are slow on a GPU, is done once per task rather than once per element."""
    task = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    taps = kh * kw
    if task >= cols.shape[0] * taps:
        return
    row = task // taps
    tap = task - row * taps
    img = row // (oh * ow)
    rest = row - img * (oh * ow)
    i = rest // ow
    j = rest - i * ow
    a = tap // kw
    b = tap - a * kw
    cin = x.shape[3]
    r, s = i * sh + a - top, j * sw + b - left
    inside = 0 <= r < x.shape[1] and 0 <= s < x.shape[2]
    for c in range(cuda.threadIdx.x, cin, cuda.blockDim.x):
        if inside:
            cols[row, tap * cin + c] = x[img, r, s, c]
        else:
            cols[row, tap * cin + c] = 0


@cuda.jit
def _col2im(dcols, kh, kw, sh, sw, top, left, oh, ow, dx, zero):
    """The adjoint of :func:`_im2col`: dx[n, r, s, c] = sum of the dcols entries that
    im2col copied from x[n, r, s, c], i.e. over the taps (a, b) with r + top - a = i*sh and
    s + left - b = j*sw for a valid output pixel (i, j).

    Written as a *gather*: every thread owns the cells it writes (no atomics, the same
    result on every run). 2-D blocks as in :func:`_im2col`: a thread row per input pixel,
    its threads over the channels."""
    pixel = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
    n, h, w, cin = dx.shape
    if pixel >= n * h * w:
        return
    img = pixel // (h * w)
    rest = pixel - img * (h * w)
    r = rest // w
    s = rest - r * w
    for c in range(cuda.threadIdx.x, cin, cuda.blockDim.x):
        acc = zero
        for a in range(kh):
            di = r + top - a
            if di < 0 or di % sh != 0 or di // sh >= oh:
                continue
            first_row = (img * oh + di // sh) * ow
            for b in range(kw):
                dj = s + left - b
                if dj < 0 or dj % sw != 0 or dj // sw >= ow:
                    continue
                acc += dcols[first_row + dj // sw, (a * kw + b) * cin + c]
        dx[img, r, s, c] = acc


@cuda.jit
def _add_bias(y, b):
    """y[row, f] += b[f] for y of shape (rows, F). One thread per element."""
    k = cuda.grid(1)
    rows, f = y.shape
    if k < rows * f:
        y[k // f, k % f] += b[k % f]


@cuda.jit
def _column_sums(a, rows_per_thread, out):
    """out[f] += sum over a chunk of rows of a[row, f]; out must start at zero. Thread k
    takes column k % F of row chunk k // F (neighbouring threads read neighbouring
    columns, so the reads coalesce) and adds its partial sum with an atomic add."""
    k = cuda.grid(1)
    rows, f = a.shape
    chunks = (rows + rows_per_thread - 1) // rows_per_thread
    if k >= chunks * f:
        return
    col, chunk = k % f, k // f
    start = chunk * rows_per_thread
    total = a[start, col]
    for row in range(start + 1, min(start + rows_per_thread, rows)):
        total += a[row, col]
    cuda.atomic.add(out, col, total)


# ----- the teaching GEMM ---------------------------------------------------------------------
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


# ----- pooling -------------------------------------------------------------------------------
@cuda.jit(device=True)
def _nhwc_index(k, h, w, channels):
    """(image, row, column, channel) of flat index ``k`` in an NHWC array with ``h`` rows,
    ``w`` columns and ``channels`` channels."""
    ch = k % channels
    t = k // channels
    col = t % w
    t = t // w
    return t // h, t % h, col, ch


_window_cells = cuda.jit(device=True)(window_cells)


@cuda.jit
def _max_pool_forward(x, ph, pw, sh, sw, top, left, y, winner):
    """y[n,i,j,ch] = max of x over the real cells of the window; winner[n,i,j,ch] = the
    flat index (r*W + c)*C + ch of its first maximum in row-major order (strict >).
    Padded cells are never visited, so they never win. One thread per output."""
    k = cuda.grid(1)
    n, oh, ow, channels = y.shape
    if k >= n * oh * ow * channels:
        return
    img, i, j, ch = _nhwc_index(k, oh, ow, channels)
    h, w = x.shape[1], x.shape[2]
    r0, r1 = _window_cells(i, sh, top, ph, h)
    c0, c1 = _window_cells(j, sw, left, pw, w)
    best = x[img, r0, c0, ch]
    best_at = (r0 * w + c0) * channels + ch
    for r in range(r0, r1):
        for c in range(c0, c1):
            v = x[img, r, c, ch]
            if v > best:
                best = v
                best_at = (r * w + c) * channels + ch
    y[img, i, j, ch] = best
    winner[img, i, j, ch] = best_at


@cuda.jit(device=True)
def _windows_over(r, top, k, s, out):
    """The output indices [lo, hi) whose window (start o*s - top, size k) covers cell r."""
    first = r + top - k + 1              # o*s >= first
    lo = 0 if first <= 0 else (first + s - 1) // s
    hi = min((r + top) // s + 1, out)
    return lo, hi


@cuda.jit
def _max_pool_backward(dy, winner, ph, pw, sh, sw, top, left, dx, zero):
    """dx[n,r,c,ch] = sum of dy over the windows covering (r, c) whose winner is this cell.
    One thread per input cell (a gather: no two threads write the same cell)."""
    k = cuda.grid(1)
    n, h, w, channels = dx.shape
    if k >= n * h * w * channels:
        return
    img, r, c, ch = _nhwc_index(k, h, w, channels)
    me = (r * w + c) * channels + ch
    i0, i1 = _windows_over(r, top, ph, sh, dy.shape[1])
    j0, j1 = _windows_over(c, left, pw, sw, dy.shape[2])
    acc = zero
    for i in range(i0, i1):
        for j in range(j0, j1):
            if winner[img, i, j, ch] == me:
                acc += dy[img, i, j, ch]
    dx[img, r, c, ch] = acc


@cuda.jit
def _avg_pool_forward(x, ph, pw, sh, sw, top, left, y, zero):
    """y[n,i,j,ch] = (sum of x over the real cells of the window) / (their number)."""
    k = cuda.grid(1)
    n, oh, ow, channels = y.shape
    if k >= n * oh * ow * channels:
        return
    img, i, j, ch = _nhwc_index(k, oh, ow, channels)
    h, w = x.shape[1], x.shape[2]
    r0, r1 = _window_cells(i, sh, top, ph, h)
    c0, c1 = _window_cells(j, sw, left, pw, w)
    acc = zero
    for r in range(r0, r1):
        for c in range(c0, c1):
            acc += x[img, r, c, ch]
    y[img, i, j, ch] = acc / y.dtype.type((r1 - r0) * (c1 - c0))


@cuda.jit
def _avg_pool_backward(dy, ph, pw, sh, sw, top, left, dx, zero):
    """dx[n,r,c,ch] = sum over the windows covering (r, c) of dy / (real cells of that
    window). One thread per input cell."""
    k = cuda.grid(1)
    n, h, w, channels = dx.shape
    if k >= n * h * w * channels:
        return
    img, r, c, ch = _nhwc_index(k, h, w, channels)
    i0, i1 = _windows_over(r, top, ph, sh, dy.shape[1])
    j0, j1 = _windows_over(c, left, pw, sw, dy.shape[2])
    acc = zero
    for i in range(i0, i1):
        r0, r1 = _window_cells(i, sh, top, ph, h)
        for j in range(j0, j1):
            c0, c1 = _window_cells(j, sw, left, pw, w)
            acc += dy[img, i, j, ch] / dx.dtype.type((r1 - r0) * (c1 - c0))
    dx[img, r, c, ch] = acc


# ----- elementwise: relu, dropout ---------------------------------------------------------------
@cuda.jit
def _relu_forward(x, y):
    """y = x where x >= 0 else 0 (NaN passes through, as with np.maximum)."""
    k = cuda.grid(1)
    if k < x.size:
        y[k] = 0 if x[k] < 0 else x[k]


@cuda.jit
def _relu_backward(y, dy, dx):
    """dx = dy where y > 0 else 0."""
    k = cuda.grid(1)
    if k < y.size:
        dx[k] = dy[k] if y[k] > 0 else 0


@cuda.jit
def _dropout_threshold(uniforms, rate, scale, mask):
    """mask = scale where the uniform draw is >= rate (kept), else 0."""
    k = cuda.grid(1)
    if k < uniforms.size:
        mask[k] = scale if uniforms[k] >= rate else 0


# ----- softmax + cross-entropy: one thread per row ----------------------------------------------
@cuda.jit(device=True)
def _softmax_row(z, p, row, zero):
    """p[row] = softmax(z[row]); returns (log of the shifted normaliser, the row max), so
    that log p_k = z_k - max - log_normaliser."""
    top = z[row, 0]
    for k in range(1, z.shape[1]):
        top = max(top, z[row, k])
    total = zero
    for k in range(z.shape[1]):
        e = math.exp(z[row, k] - top)
        p[row, k] = e
        total += e
    for k in range(z.shape[1]):
        p[row, k] /= total
    return math.log(total), top


@cuda.jit
def _softmax_xent_labels(z, labels, losses, grad, zero):
    """losses[n] = log sum_k e^{z_nk} - z_{n,label};  grad = softmax(z) - onehot(label)."""
    row = cuda.grid(1)
    if row >= z.shape[0]:
        return
    log_total, top = _softmax_row(z, grad, row, zero)
    label = labels[row]
    losses[row] = log_total - (z[row, label] - top)
    grad[row, label] -= 1


@cuda.jit
def _softmax_xent_rows(z, targets, losses, grad, zero):
    """losses[n] = -sum_k y_nk log p_nk;  grad = p * sum_k y_nk - y."""
    row = cuda.grid(1)
    if row >= z.shape[0]:
        return
    log_total, top = _softmax_row(z, grad, row, zero)
    loss = zero
    weight = zero
    for k in range(z.shape[1]):
        loss -= targets[row, k] * (z[row, k] - top - log_total)
        weight += targets[row, k]
    losses[row] = loss
    for k in range(z.shape[1]):
        grad[row, k] = grad[row, k] * weight - targets[row, k]


# ----- optimizer updates: flat arrays, in place, one thread per element ------------------------
# Optional slots (no momentum, not centered) are passed as a 1-element dummy array plus a
# flag, which keeps one compiled kernel per dtype.
@cuda.jit
def _sgd(p, g, velocity, lr, momentum, has_velocity, nesterov):
    """Without velocity: p -= lr g. With: v = momentum v - lr g, then
    p += momentum v - lr g (nesterov) or p += v."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    if not has_velocity:
        p[k] -= lr * g[k]
    else:
        v = momentum * velocity[k] - lr * g[k]
        velocity[k] = v
        if nesterov:
            p[k] += momentum * v - lr * g[k]
        else:
            p[k] += v


@cuda.jit
def _rmsprop(p, g, avg_sq, mom, avg_g, lr, rho, one_minus_rho, momentum, eps, has_mom, centered):
    """a = rho a + (1-rho) g^2; denominator a + eps, minus mg^2 when centered (mg = rho mg
    + (1-rho) g); inc = lr g / sqrt(denominator); p -= inc, or with momentum
    m = momentum m + inc, p -= m."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    a = rho * avg_sq[k] + one_minus_rho * g[k] * g[k]
    avg_sq[k] = a
    denom = a + eps
    if centered:
        mg = rho * avg_g[k] + one_minus_rho * g[k]
        avg_g[k] = mg
        denom -= mg * mg
    inc = lr * g[k] / math.sqrt(denom)
    if has_mom:
        m = momentum * mom[k] + inc
        mom[k] = m
        p[k] -= m
    else:
        p[k] -= inc


@cuda.jit
def _adam(p, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, eps):
    """m += (g - m)(1-b1); v += (g^2 - v)(1-b2); p -= alpha m / (sqrt(v) + eps)."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    mk = m[k] + (g[k] - m[k]) * one_minus_beta_1
    vk = v[k] + (g[k] * g[k] - v[k]) * one_minus_beta_2
    m[k] = mk
    v[k] = vk
    p[k] -= alpha * mk / (math.sqrt(vk) + eps)


@cuda.jit
def _adamax(p, g, m, u, step, one_minus_beta_1, beta_2, eps):
    """m += (g - m)(1-b1); u = max(b2 u, |g|); p -= step m / (u + eps)."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    mk = m[k] + (g[k] - m[k]) * one_minus_beta_1
    uk = max(beta_2 * u[k], abs(g[k]))
    m[k] = mk
    u[k] = uk
    p[k] -= step * mk / (uk + eps)


@cuda.jit
def _adagrad(p, g, acc, lr, eps):
    """acc += g^2; p -= lr g / sqrt(acc + eps)."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    a = acc[k] + g[k] * g[k]
    acc[k] = a
    p[k] -= lr * g[k] / math.sqrt(a + eps)


@cuda.jit
def _adadelta(p, g, acc_g, acc_dx, lr, rho, one_minus_rho, eps):
    """acc_g = rho acc_g + (1-rho) g^2; dx = -sqrt(acc_dx + eps) / sqrt(acc_g + eps) g;
    acc_dx = rho acc_dx + (1-rho) dx^2; p += lr dx."""
    k = cuda.grid(1)
    if k >= p.size:
        return
    ag = rho * acc_g[k] + one_minus_rho * g[k] * g[k]
    acc_g[k] = ag
    dx = -math.sqrt(acc_dx[k] + eps) / math.sqrt(ag + eps) * g[k]
    acc_dx[k] = rho * acc_dx[k] + one_minus_rho * dx * dx
    p[k] += lr * dx




class CudaBackend(NumpyBackend):
    """numba.cuda kernels on device arrays (CuPy on a GPU, NumPy under the simulator).

    Attributes: ``xp`` (the array module of the device arrays), ``simulated`` (True under
    the simulator), ``gemm`` (``"cublas"`` or ``"numba"``: who does the matrix products of
    the conv layers), ``tile`` (the teaching GEMM's tile size), ``threads`` (threads per
    block of the 1-D kernels), ``wrap_args`` (hand Numba cached views of CuPy arrays,
    the default, or the CuPy arrays themselves; ``TINYCNN_CUDA_WRAP=0``).
    """

    name = "cuda"

    def __init__(self, tile=None, gemm=None):
        if SIMULATED and not _simulator_requested():
            # The simulator is for tests that ask for it: once it has been loaded in a process,
            # `available_backends()` must not offer it to code that did not set the variable.
            raise ImportError("the 'cuda' tier runs on Numba's CUDA simulator only while "
                              "NUMBA_ENABLE_CUDASIM=1 is set")
        self.simulated = SIMULATED
        self.xp = np if SIMULATED else _cupy
        # The simulator runs every thread of a block as a Python thread: small blocks there.
        self.threads = 32 if SIMULATED else 256
        self.tile = int(tile or os.environ.get("TINYCNN_CUDA_TILE", 4 if SIMULATED else 16))
        # cuBLAS (through CuPy) needs a real GPU; under the simulator the Numba GEMM does it all.
        choice = "numba" if SIMULATED else (gemm or os.environ.get("TINYCNN_CUDA_GEMM") or "cublas")
        if choice not in ("numba", "cublas"):
            raise ValueError(f"cuda tier: gemm must be 'numba' or 'cublas', got {choice!r}")
        self.gemm = choice
        # True: hand Numba cached views of CuPy arrays; False: the CuPy arrays (see _arg).
        self.wrap_args = os.environ.get("TINYCNN_CUDA_WRAP", "1") != "0"
        self._views = {}

    # ----- moving data ----------------------------------------------------------------
    def to_device(self, array):
        """The array on the device: a CuPy copy of a host array (a device array is returned
        as it is); under the simulator a NumPy array."""
        return self.xp.asarray(array)

    # to_host comes from the NumPy tier: ``array.get()`` for a CuPy array, else the array.

    def synchronize(self):
        """Wait until every kernel launched so far has finished (for timing)."""
        if not SIMULATED:
            cuda.synchronize()
            _cupy.cuda.get_current_stream().synchronize()

    # ----- launching --------------------------------------------------------------------
    def _arg(self, a):
        """What a kernel launch gets for the argument ``a``.

        Numba accepts CuPy arrays as they are, but then (1) synchronises the stream that
        CuPy announces in ``__cuda_array_interface__`` before every launch, although both
        libraries queue on the same default stream, so launch order already orders the
        work; and (2) builds a Numba view of each array, which costs more than the launch
        itself (tens of microseconds, see the benchmark). So a CuPy array is handed over as
        a Numba view made without synchronising, and views are cached by (address, shape,
        strides, dtype): CuPy's memory pool hands the same addresses out again step after
        step, so a training loop finds its views in the cache. A cached view owns nothing
        (it is just that address, shape and strides), so it is valid for whichever live
        array has them now.
        """
        if SIMULATED or not self.wrap_args or not hasattr(a, "__cuda_array_interface__"):
            return a
        if not isinstance(a, _cupy.ndarray):
            return cuda.as_cuda_array(a, sync=False)
        key = (a.data.ptr, a.shape, a.strides, a.dtype.char)
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= 1024:
                self._views.clear()
            view = cuda.from_cuda_array_interface(a.__cuda_array_interface__, owner=None, sync=False)
            self._views[key] = view
        return view

    def _launch_runs(self, kernel, tasks, run, *args):
        """Run ``kernel`` on 2-D blocks: ``blockDim.y`` tasks per block, each task handled
        by ``blockDim.x`` threads (a power of two >= ``run``, at most 32) that share a run
        of ``run`` contiguous values (see :func:`_im2col`)."""
        if tasks <= 0 or run <= 0:
            return
        tx = min(32, 1 << (run - 1).bit_length())
        ty = max(1, self.threads // tx)
        kernel[(tasks + ty - 1) // ty, (tx, ty)](*[self._arg(a) for a in args])

    def _launch(self, kernel, total, *args):
        """Run ``kernel`` with at least ``total`` threads in 1-D blocks of ``self.threads``."""
        if total <= 0:
            return
        blocks = (total + self.threads - 1) // self.threads
        kernel[blocks, self.threads](*[self._arg(a) for a in args])

    def _zero(self, dtype):
        return np.dtype(dtype).type(0)

    def matmul(self, a, b, out=None):
        """``a @ b`` for device arrays, by cuBLAS (``gemm == "cublas"``, and for stacked
        products) or by the tiled Numba kernel (``gemm == "numba"``); into ``out`` when given."""
        if self.gemm == "cublas" or a.ndim != 2 or b.ndim != 2:
            return self.xp.matmul(a, b, out=out)
        return self.numba_matmul(a, b, out)

    def numba_matmul(self, a, b, out=None):
        """``a @ b`` by the teaching kernel :func:`_make_gemm`."""
        m, n = a.shape[0], b.shape[1]
        if a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
        dtype = np.result_type(a.dtype, b.dtype)
        if out is None:
            out = self.xp.empty((m, n), dtype=dtype)
        if m == 0 or n == 0:
            return out
        if a.shape[1] == 0:
            out[...] = 0
            return out
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
        t = self.tile
        kernel = _make_gemm(t, dtype)
        kernel[((n + t - 1) // t, (m + t - 1) // t), (t, t)](self._arg(a), self._arg(b), self._arg(out))
        return out

    # ----- convolution ----------------------------------------------------------------
    def _cols(self, x, window, strides, pads, out_hw):
        (kh, kw), (oh, ow) = window, out_hw
        n, _, _, cin = x.shape
        cols = self.xp.empty((n * oh * ow, kh * kw * cin), dtype=x.dtype)
        self._launch_runs(_im2col, cols.shape[0] * kh * kw, cin, x, kh, kw, *strides, pads[0][0],
                          pads[1][0], oh, ow, cols)
        return cols

    def conv2d_forward(self, x, w, b, strides, pads):
        """y = im2col(x) @ w.reshape(kh*kw*cin, cout) + b (see the NumPy tier). Like the
        numba tier, ctx keeps x (not cols) and the backward rebuilds cols."""
        x = self.xp.ascontiguousarray(x)   # the simulator needs one memory block per array
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        out_hw = (padded_output_size(h, kh, strides[0], *pads[0]), padded_output_size(wd, kw, strides[1], *pads[1]))
        cols = self._cols(x, (kh, kw), strides, pads, out_hw)
        y = self.matmul(cols, w.reshape(kh * kw * cin, cout))
        if b is not None:
            self._launch(_add_bias, y.size, y, b)
        ctx = SimpleNamespace(x=x, w=w, strides=strides, pads=pads, out_hw=out_hw,
                              has_bias=b is not None)
        return y.reshape(n, *out_hw, cout), ctx

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """dW = cols^T @ dY; dcols = dY @ W^T; dx = col2im(dcols) (a gather); db = column
        sums of dY. ``dx`` is None when ``need_dx`` is false (no second product, no col2im)."""
        xp = self.xp
        kh, kw, cin, cout = ctx.w.shape
        w2 = ctx.w.reshape(kh * kw * cin, cout)
        dy2 = xp.ascontiguousarray(dy).reshape(-1, cout)
        cols = self._cols(ctx.x, (kh, kw), ctx.strides, ctx.pads, ctx.out_hw)
        dw = self.matmul(cols.T, dy2).reshape(ctx.w.shape)
        db = self.column_sums(dy2) if ctx.has_bias else None
        if not need_dx:
            return None, dw, db
        dcols = self.matmul(dy2, w2.T)
        dx = xp.empty(ctx.x.shape, dtype=dcols.dtype)
        self._launch_runs(_col2im, dx.size // cin, cin, dcols, kh, kw, *ctx.strides, ctx.pads[0][0],
                          ctx.pads[1][0], *ctx.out_hw, dx, self._zero(dx.dtype))
        return dx, dw, db

    def column_sums(self, a, rows_per_thread=64):
        """``a.sum(axis=0)`` of a 2-D device array (atomic adds of partial column sums, so
        float32 results may differ in the last bits from run to run)."""
        rows, f = a.shape
        out = self.xp.zeros(f, dtype=a.dtype)
        chunks = (rows + rows_per_thread - 1) // rows_per_thread
        self._launch(_column_sums, chunks * f, a, rows_per_thread, out)
        return out

    # ----- pooling --------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """Max over the real cells of each window; ctx keeps each output's winning cell."""
        x = self.xp.ascontiguousarray(x)
        out_shape = window_output_shape(x.shape, pool, strides, pads)
        y = self.xp.empty(out_shape, dtype=x.dtype)
        winner = self.xp.empty(out_shape, dtype=np.int32)
        self._launch(_max_pool_forward, y.size, x, *pool, *strides, pads[0][0], pads[1][0], y, winner)
        return y, SimpleNamespace(winner=winner, x_shape=x.shape, pool=pool, strides=strides, pads=pads)

    def max_pool2d_backward(self, ctx, dy):
        dy = self.xp.ascontiguousarray(dy)
        dx = self.xp.empty(ctx.x_shape, dtype=dy.dtype)
        self._launch(_max_pool_backward, dx.size, dy, ctx.winner, *ctx.pool, *ctx.strides,
                     ctx.pads[0][0], ctx.pads[1][0], dx, self._zero(dy.dtype))
        return dx

    def avg_pool2d_forward(self, x, pool, strides, pads):
        x = self.xp.ascontiguousarray(x)
        y = self.xp.empty(window_output_shape(x.shape, pool, strides, pads), dtype=x.dtype)
        self._launch(_avg_pool_forward, y.size, x, *pool, *strides, pads[0][0], pads[1][0], y,
                     self._zero(x.dtype))
        return y, SimpleNamespace(pool=pool, strides=strides, pads=pads, x_shape=x.shape)

    def avg_pool2d_backward(self, ctx, dy):
        dy = self.xp.ascontiguousarray(dy)
        dx = self.xp.empty(ctx.x_shape, dtype=dy.dtype)
        self._launch(_avg_pool_backward, dx.size, dy, *ctx.pool, *ctx.strides, ctx.pads[0][0],
                     ctx.pads[1][0], dx, self._zero(dy.dtype))
        return dx

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        x = self.xp.ascontiguousarray(x)
        y = self.xp.empty_like(x)
        self._launch(_relu_forward, x.size, x.reshape(-1), y.reshape(-1))
        return y

    def relu_backward(self, y, dy):
        y, dy = self.xp.ascontiguousarray(y), self.xp.ascontiguousarray(dy)
        dx = self.xp.empty_like(dy)
        self._launch(_relu_backward, y.size, y.reshape(-1), dy.reshape(-1), dx.reshape(-1))
        return dx

    def dropout_mask(self, shape, rate, rng, dtype):
        """The NumPy tier's draws (float32 uniforms from ``rng`` on the host, copied to the
        device once), thresholded and scaled on the device: the same mask for one seed."""
        dtype = np.dtype(dtype)
        uniforms = self.to_device(rng.random(shape, dtype=np.float32))
        mask = self.xp.empty(shape, dtype=dtype)
        self._launch(_dropout_threshold, mask.size, uniforms.reshape(-1), np.float32(rate),
                     dtype.type(1.0 / (1.0 - rate)), mask.reshape(-1))
        return mask

    def softmax_cross_entropy(self, logits, targets):
        """See the NumPy tier; one thread per row, in the logits' dtype."""
        xp = self.xp
        logits = xp.ascontiguousarray(logits)
        losses = xp.empty(logits.shape[0], dtype=logits.dtype)
        grad = xp.empty_like(logits)
        zero = self._zero(logits.dtype)
        if targets.ndim == 1:
            labels = targets if targets.dtype.kind in "iu" else targets.astype(np.int64)
            self._launch(_softmax_xent_labels, logits.shape[0], logits, labels, losses, grad, zero)
        else:
            self._launch(_softmax_xent_rows, logits.shape[0], logits,
                         targets.astype(logits.dtype, copy=False), losses, grad, zero)
        return losses, grad

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def _in_place(self, kernel, arrays, scalars):
        """Run an elementwise update on the flattened ``arrays`` (p first; None means an
        absent slot, passed as a 1-element dummy). Non-contiguous arrays are updated
        through contiguous copies that are written back."""
        xp = self.xp
        p = arrays[0]
        work = []
        for a in arrays:
            if a is None:
                work.append(xp.zeros(1, dtype=p.dtype))
            elif a.flags.c_contiguous:
                work.append(a)
            else:
                work.append(xp.ascontiguousarray(a))
        self._launch(kernel, p.size, *[a.reshape(-1) for a in work], *scalars)
        for position, (a, copy) in enumerate(zip(arrays, work)):
            if position != 1 and a is not None and copy is not a:   # g (position 1) is read only
                a[...] = copy

    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        t = p.dtype.type
        self._in_place(_sgd, [p, g, velocity],
                       [t(lr), t(momentum), velocity is not None, bool(nesterov)])

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        t = p.dtype.type
        self._in_place(_rmsprop, [p, g, avg_sq, mom, avg_g],
                       [t(lr), t(rho), t(1 - rho), t(momentum), t(eps), mom is not None,
                        avg_g is not None])

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        cast = p.dtype.type
        alpha = lr * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t)
        self._in_place(_adam, [p, g, m, v],
                       [cast(alpha), cast(1 - beta_1), cast(1 - beta_2), cast(eps)])

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        cast = p.dtype.type
        self._in_place(_adamax, [p, g, m, u],
                       [cast(lr / (1 - beta_1 ** t)), cast(1 - beta_1), cast(beta_2), cast(eps)])

    def adagrad_update(self, p, g, acc, lr, eps):
        t = p.dtype.type
        self._in_place(_adagrad, [p, g, acc], [t(lr), t(eps)])

    def adadelta_update(self, p, g, acc_g, acc_dx, lr, rho, eps):
        t = p.dtype.type
        self._in_place(_adadelta, [p, g, acc_g, acc_dx], [t(lr), t(rho), t(1 - rho), t(eps)])
