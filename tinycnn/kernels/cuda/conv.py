"""The CUDA tier's convolution: im2col, a matrix product, col2im as a gather."""
from __future__ import annotations

from types import SimpleNamespace

from ..geometry import padded_output_size
from .device import cuda


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


class Convolution:
    """conv2d forward and backward as products over im2col's columns."""

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
