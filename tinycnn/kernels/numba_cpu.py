"""The ``numba`` kernel tier: compiled CPU loops, the default tier.

Same contract as :class:`kernels.numpy_tier.NumpyBackend` (NHWC, ``pads`` as
``((top, bottom), (left, right))``, ``(output, ctx)`` from each forward), with the hot loops
compiled by Numba:

* the convolution's forward pass is a direct kernel (:func:`_conv_direct`) that keeps a
  block of output pixels x 2 vectors of filters in vector registers (:mod:`kernels.simd`;
  8 pixels x 32 float32 filters with AVX-512, 4 x 16 with AVX2), and applies the relu as it
  stores when the layer asks for one (``conv2d_relu_forward``) and, in inference, a
  following 2x2 max-pooling (``conv2d_max_pool_values``);
* its backward pass computes the weight gradient with a direct kernel of the same kind
  (:func:`_conv_weight_grad`, 6 taps x 2 vectors of filters in registers, summed over the
  output pixels), and the input gradient of a stride-1 convolution as a forward
  convolution of dy by the same direct kernel; a strided one's one cache-sized tile at a
  time: dcols = dY_tile @ W^T on BLAS (NumPy ``@``, single-threaded in each thread), then
  col2im adds the tile into dx;
* pooling, relu, dropout's threshold, the fused softmax + cross-entropy and the optimizer
  updates are single passes over memory (NumPy needs several temporaries for each).

Every kernel computes in the dtype of its arrays (float32 stays float32; scalars are cast
to that dtype before the call) and works for float64 too. Kernels are compiled on first
use and cached on disk (``cache=True``), so only the first run on a machine pays the
compile time. Parallel kernels are ``nogil`` loops over a range that :func:`_split` hands
to tinycnn's threads (:mod:`kernels.threads`), one range per thread, only when the work is
large enough to pay for the hand-over.
"""
from __future__ import annotations

import math
import threading
from functools import partial
from types import SimpleNamespace

import numba
import numpy as np

from . import gemm, simd
from .threads import get_num_threads, run_all  # (importing threads sets OpenMP's wait policy first)
from .geometry import padded_output_size, window_cells, window_output_shape
from .numpy_tier import NumpyBackend

_compiled = numba.njit(cache=True)
# nogil: Python threads run these side by side. error_model="numpy": x / 0 gives inf or NaN as
# in NumPy instead of a Python exception, and without that check LLVM can vectorise a loop
# that divides (an RMSprop update of 147k values: 420 -> 56 microseconds)
_compiled_nogil = numba.njit(cache=True, nogil=True, error_model="numpy")
SPLIT_WORK = 1 << 16    # input elements below which a pooling kernel runs on one thread (see _split)
SPLIT_ELEMENTS = 1 << 20   # the same for the elementwise and optimizer kernels (see _split)
SPLIT_MACS = 1 << 21    # multiply-adds below which a convolution (or its backward) runs on one thread
TILE_BYTES = 1 << 20   # dcols tile size in conv2d_backward (1 MiB was fastest of 256 KiB to 4 MiB for im2col tiles)


def _split(kernel, tasks, *args, split):
    """``kernel(*args, first, end)`` over tasks [0, tasks), one range of tasks per thread
    (:func:`kernels.threads.run_all`) when ``split``, else in one call on this thread;
    returns the calls' results in range order. The caller splits only work that is worth
    it (SPLIT_WORK, SPLIT_ELEMENTS, SPLIT_MACS), since handing a range to another thread
    costs about 30 to 100 microseconds. A single pass over
    memory pays for it only on large arrays: measured with cold caches, a relu of 262k
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


# ----- convolution: col2im, the input gradient's scatter ------------------------------------
@_compiled
def _real_taps(c_start, kw, w):
    """The kernel columns [b0, b1) whose input column c_start + b lies inside [0, w)."""
    b0 = min(max(-c_start, 0), kw)
    return b0, max(min(kw, w - c_start), b0)


def _pad_into(x, top, left, xp):
    """xp = x surrounded by zeros, x's pixel (r, c) landing at (top + r, left + c). Plain
    NumPy slices: zeroing only the border strips and copying the interior is faster than
    a compiled loop here (0.19 vs 0.33 ms for 35x32x32x32) and costs no compile time."""
    h, w = x.shape[1:3]
    xp[:, :top] = 0
    xp[:, top + h:] = 0
    xp[:, top:top + h, :left] = 0
    xp[:, top:top + h, left + w:] = 0
    xp[:, top:top + h, left:left + w] = x


@_compiled_nogil
def _output_pixel(row, oh, ow):
    """(image, i, j) of row ``row`` of the im2col matrix, whose rows run over (n, i, j)."""
    img, rest = row // (oh * ow), row % (oh * ow)
    return img, rest // ow, rest % ow


@_compiled_nogil
def _next_pixel(img, i, j, oh, ow):
    """The output pixel after (img, i, j) in row-major order (cheaper than dividing again)."""
    if j + 1 < ow:
        return img, i, j + 1
    if i + 1 < oh:
        return img, i + 1, 0
    return img + 1, 0, 0


@_compiled_nogil
def _col2im_rows(dcols, kh, kw, sh, sw, top, left, oh, ow, first_row, dx_rows):
    """col2im: adds each row t of ``dcols`` (a tile of im2col's adjoint: rows first_row,
    first_row + 1, ... over output pixels (n, i, j), columns over taps (a, b, c)) back onto
    the input cells that its window covered, dx[n, i*sh + a - top, j*sw + b - left, :] +=
    dcols[t, (a*kw + b)*C : ...], skipping the taps that fell on padding. ``dx_rows`` is
    (N, H, W*C)."""
    h, row_len = dx_rows.shape[1:]
    cin = dcols.shape[1] // (kh * kw)
    w = row_len // cin
    img, i, j = _output_pixel(first_row, oh, ow)
    for t in range(dcols.shape[0]):
        c_start = j * sw - left
        b0, b1 = _real_taps(c_start, kw, w)
        for a in range(kh):
            r = i * sh + a - top
            if 0 <= r < h:
                src = dcols[t, (a * kw + b0) * cin:(a * kw + b1) * cin]
                dst = dx_rows[img, r, (c_start + b0) * cin:(c_start + b1) * cin]
                for k in range(src.size):
                    dst[k] += src[k]
        img, i, j = _next_pixel(img, i, j, oh, ow)


# ----- convolution forward: direct, in vector registers ----------------------------------
# output pixels per register block: with 2 vectors of filters, 16 accumulators in AVX-512's 32 registers,
# 8 in AVX2's 16 (with 16 there, LLVM spills them and the kernel ran 1.4x slower, measured)
BLOCK_PIXELS = 8 if simd.VECTOR_BYTES == 64 else 4
WIDE = BLOCK_PIXELS == 8   # a compile-time constant in the kernels: the code for pixels 4 to 7 exists only then
CHUNK_PIXELS = 64    # output pixels per chunk (threads take whole chunks; a weight panel serves a chunk)
SEGMENT_TAPS = 128   # taps per weight panel: 128 x 16 float32 filters = 8 KiB, a quarter of L1


@_compiled
def _window_starts(first, end, oh, ow, sh, sw, hp, wp, cin, pooled, starts):
    """starts[q] = where the window of output pixel number first + q starts in the flat
    padded input (the index of xp[n, i*sh, j*sw, 0]), for every q < starts.size; past
    ``end``, the last pixel's start again. The pixels are numbered by rows (n, i, j), or
    with ``pooled`` window by window: pixel 4w + m is cell m (in row-major order) of the 2x2
    window w of the pooled output, whose rows run over (n, wi, wj). The first pixel is found
    by division, the others by stepping: dividing for each pixel cost a kernel with few
    taps per window (a first layer) up to a third of its time."""
    if pooled:
        img, wi, wj = _output_pixel(first // 4, oh // 2, ow // 2)
        cell = first % 4
    else:
        img, i, j = _output_pixel(first, oh, ow)
        cell = 0
    for q in range(starts.size):
        if first + q >= end:
            starts[q] = starts[q - 1]
            continue
        if pooled:
            i, j = 2 * wi + cell // 2, 2 * wj + cell % 2
        starts[q] = ((img * hp + i * sh) * wp + j * sw) * cin
        if pooled:
            cell += 1
            if cell == 4:
                cell = 0
                img, wi, wj = _next_pixel(img, wi, wj, oh // 2, ow // 2)
        else:
            img, i, j = _next_pixel(img, i, j, oh, ow)


@_compiled
def _store(y, index, value, apply_relu):
    simd.store(y, index, simd.relu(value) if apply_relu else value)


@_compiled
def _store_pixel(y, index, width, low, high, apply_relu):
    """A pixel's (or tap's) 2 vectors of filters into y[index : index + 2*width], relu'd
    when ``apply_relu``."""
    _store(y, index, low, apply_relu)
    _store(y, index + width, high, apply_relu)


@_compiled
def _fma_pixel(x, index, low, high, sum_low, sum_high):
    """One pixel's step of a register block: the input value x[index], broadcast, times the
    2 vectors ``low`` and ``high``, added into the pixel's (or tap's) 2 sums."""
    v = simd.splat(x, index)
    return simd.fma(v, low, sum_low), simd.fma(v, high, sum_high)


@_compiled
def _window_max(a, b, c, d):
    """The lane-by-lane maximum of a 2x2 pooling window's 4 pixels (NaN wins)."""
    return simd.maximum(simd.maximum(a, b), simd.maximum(c, d))


@_compiled
def _load_pixel(sums, index, width):
    """The 2 vectors sums[index : index + 2*width] (a pixel's or tap's 2 vectors of filters)."""
    return simd.load(sums, index), simd.load(sums, index + width)


@_compiled_nogil
def _conv_direct(xp, hp, wp, cin, w, bias, kh, kw, sh, sw, oh, ow, apply_relu, pooled, y, first_chunk, end_chunk):
    """y[p, f] = bias[f] + sum_{a, t} xp[start(p) + a*wp*cin + t] * w[a*kw*cin + t, f] for
    every output pixel p (rows (n, i, j) of the flat y, F = bias.size columns), where
    start(p) comes from :func:`_window_starts` and t runs over one tap row of the window
    (kw*cin values, contiguous in NHWC). With ``apply_relu``, y = max(y, 0) on the way out. With
    ``pooled``, y is instead the 2x2, stride 2 max-pooling of that result (rows (n, qi, qj)),
    and the full-size output is never written.

    The register block: BLOCK_PIXELS output pixels (8 with AVX-512, 4 with AVX2) x 2
    vectors of filters (32 or 16 float32) make 16 or 8 vector accumulators. For each tap, 2
    vector loads of w are reused by the block's pixels and one broadcast of each pixel's
    input value by the 2 vectors: 16 fused multiply-adds per 10 loads (8 per 6 with AVX2).
    The 8-pixel block ran 1.0x to 1.3x as fast as a 4-pixel one with AVX-512 (forward
    passes of the seed models' layers, 2 threads). When pooled, each 4 pixels of a block
    are one pooling window, so the windows' maxima are all it stores. The pixels are cut
    into chunks of CHUNK_PIXELS and this call computes chunks [first_chunk, end_chunk)
    (each thread calls it on its own range, so each output is summed by one thread, in one
    order, whatever the thread count; a ``prange`` version ran no faster and took 3.9 s to
    compile against 1.7). Within a
    chunk, the taps are taken in segments of at most SEGMENT_TAPS (as many whole tap rows as
    fit, or pieces of one row when it is longer), and each segment's panel of weights (up
    to SEGMENT_TAPS x 2 vectors, 8 KiB in float32) is used by all of the chunk's blocks
    while it is in the L1 cache; the block's sums wait in a small buffer between segments.
    A first layer (1 or 3 input channels) has its whole window in one segment, which
    measured 1.17x to 1.28x faster than one segment per tap row there (and 0.95x to 1.0x on
    the other layers). The last block of the last chunk may be short: its missing pixels
    repeat the last real one and are not stored. F must be a multiple of 2 vectors (the
    caller pads)."""
    width = simd.lanes(y)
    filters = bias.size
    pixels = y.size // filters * (4 if pooled else 1)
    row, run = wp * cin, kw * cin
    rows = max(1, SEGMENT_TAPS // run)   # whole tap rows per segment (1 when a row is longer)
    starts = np.empty(CHUNK_PIXELS + 8, dtype=np.intp)   # room for x0 to x7 of the last block
    sums = np.empty(CHUNK_PIXELS * 2 * width, dtype=y.dtype)   # a block's sums between segments
    for chunk in range(first_chunk, end_chunk):
        first = chunk * CHUNK_PIXELS
        end = min(first + CHUNK_PIXELS, pixels)
        _window_starts(first, end, oh, ow, sh, sw, hp, wp, cin, pooled, starts)
        for f0 in range(0, filters, 2 * width):
            for a0 in range(0, kh, rows):
                a1 = min(a0 + rows, kh)
                for t0 in range(0, run, SEGMENT_TAPS):
                    t1 = min(t0 + SEGMENT_TAPS, run)
                    opening = a0 == 0 and t0 == 0
                    closing = a1 == kh and t1 == run
                    for p in range(first, end, BLOCK_PIXELS):
                        q = p - first
                        x0, x1, x2, x3 = starts[q], starts[q + 1], starts[q + 2], starts[q + 3]
                        # (x4 to x7 are used only when WIDE)
                        x4, x5, x6, x7 = starts[q + 4], starts[q + 5], starts[q + 6], starts[q + 7]
                        s = q * 2 * width
                        if opening:
                            a00, a01 = _load_pixel(bias, f0, width)
                            a10, a11, a20, a21, a30, a31 = a00, a01, a00, a01, a00, a01
                            a40, a41, a50, a51, a60, a61, a70, a71 = a00, a01, a00, a01, a00, a01, a00, a01
                        else:
                            a00, a01 = _load_pixel(sums, s, width)
                            a10, a11 = _load_pixel(sums, s + 2 * width, width)
                            a20, a21 = _load_pixel(sums, s + 4 * width, width)
                            a30, a31 = _load_pixel(sums, s + 6 * width, width)
                            a40, a41, a50, a51, a60, a61, a70, a71 = a00, a01, a00, a01, a00, a01, a00, a01
                            if WIDE:
                                a40, a41 = _load_pixel(sums, s + 8 * width, width)
                                a50, a51 = _load_pixel(sums, s + 10 * width, width)
                                a60, a61 = _load_pixel(sums, s + 12 * width, width)
                                a70, a71 = _load_pixel(sums, s + 14 * width, width)
                        for a in range(a0, a1):
                            k = (a * run + t0) * filters + f0
                            for t in range(a * row + t0, a * row + t1):
                                w0, w1 = simd.load(w, k), simd.load(w, k + width)
                                a00, a01 = _fma_pixel(xp, x0 + t, w0, w1, a00, a01)
                                a10, a11 = _fma_pixel(xp, x1 + t, w0, w1, a10, a11)
                                a20, a21 = _fma_pixel(xp, x2 + t, w0, w1, a20, a21)
                                a30, a31 = _fma_pixel(xp, x3 + t, w0, w1, a30, a31)
                                if WIDE:
                                    a40, a41 = _fma_pixel(xp, x4 + t, w0, w1, a40, a41)
                                    a50, a51 = _fma_pixel(xp, x5 + t, w0, w1, a50, a51)
                                    a60, a61 = _fma_pixel(xp, x6 + t, w0, w1, a60, a61)
                                    a70, a71 = _fma_pixel(xp, x7 + t, w0, w1, a70, a71)
                                k += filters
                        if not closing:
                            _store_pixel(sums, s, width, a00, a01, False)
                            _store_pixel(sums, s + 2 * width, width, a10, a11, False)
                            _store_pixel(sums, s + 4 * width, width, a20, a21, False)
                            _store_pixel(sums, s + 6 * width, width, a30, a31, False)
                            if WIDE:
                                _store_pixel(sums, s + 8 * width, width, a40, a41, False)
                                _store_pixel(sums, s + 10 * width, width, a50, a51, False)
                                _store_pixel(sums, s + 12 * width, width, a60, a61, False)
                                _store_pixel(sums, s + 14 * width, width, a70, a71, False)
                        elif pooled:
                            out = p // 4 * filters + f0
                            _store_pixel(y, out, width, _window_max(a00, a10, a20, a30),
                                         _window_max(a01, a11, a21, a31), apply_relu)
                            if WIDE and p + 4 < end:
                                _store_pixel(y, out + filters, width, _window_max(a40, a50, a60, a70),
                                             _window_max(a41, a51, a61, a71), apply_relu)
                        else:
                            out = p * filters + f0
                            _store_pixel(y, out, width, a00, a01, apply_relu)
                            if p + 1 < end:
                                _store_pixel(y, out + filters, width, a10, a11, apply_relu)
                            if p + 2 < end:
                                _store_pixel(y, out + 2 * filters, width, a20, a21, apply_relu)
                            if p + 3 < end:
                                _store_pixel(y, out + 3 * filters, width, a30, a31, apply_relu)
                            if WIDE and p + 4 < end:
                                _store_pixel(y, out + 4 * filters, width, a40, a41, apply_relu)
                            if WIDE and p + 5 < end:
                                _store_pixel(y, out + 5 * filters, width, a50, a51, apply_relu)
                            if WIDE and p + 6 < end:
                                _store_pixel(y, out + 6 * filters, width, a60, a61, apply_relu)
                            if WIDE and p + 7 < end:
                                _store_pixel(y, out + 7 * filters, width, a70, a71, apply_relu)


TAP_BLOCK = 6   # taps per register block of the weight gradient: 6 x 2 vectors = 12 accumulators


@_compiled_nogil
def _conv_weight_grad(xp, hp, wp, cin, dy, kh, kw, sh, sw, oh, ow, dw, db, first_pixel, end_pixel):
    """dw[T, f] += sum_p xp[start(p) + offset(T)] * dy[p, f] and db[f] += sum_p dy[p, f] over
    the output pixels p in [first_pixel, end_pixel) (rows (n, i, j) of the flat dy, with
    F = db.size columns), where start(p) comes from :func:`_window_starts` and tap
    T = (a*kw + b)*cin + c of a window lies offset(T) = a*wp*cin + b*cin + c past its start.

    The register block is :func:`_conv_direct`'s with taps in the place of pixels: 6 taps x
    2 vectors of filters make 12 vector accumulators. For each pixel, 2 vector loads of dy
    are reused by the 6 taps and one broadcast of each tap's input value by the 2 vectors:
    12 fused multiply-adds per 8 loads (a block of 4 taps, 8 per 6, measured 0.9x to 0.95x
    as fast). The pixels are walked in chunks of CHUNK_PIXELS, once per block of taps, so
    that the chunk's rows of dy and its windows stay in the L1 cache; a block's sums go
    from dw into registers and back once per chunk. dw has one row per tap rounded up to a
    multiple of TAP_BLOCK (the extra rows repeat the last tap; the caller drops them); F
    must be a multiple of 2 vectors (the caller pads dy with zero filters)."""
    width = simd.lanes(db)
    filters = db.size
    run = kw * cin
    taps = kh * run
    offsets = np.empty(dw.size // filters, dtype=np.intp)
    for tap in range(offsets.size):
        t = min(tap, taps - 1)
        offsets[tap] = t // run * wp * cin + t % run
    starts = np.empty(CHUNK_PIXELS, dtype=np.intp)
    for first in range(first_pixel, end_pixel, CHUNK_PIXELS):
        end = min(first + CHUNK_PIXELS, end_pixel)
        _window_starts(first, end, oh, ow, sh, sw, hp, wp, cin, False, starts)
        for f0 in range(0, filters, 2 * width):
            b0, b1 = _load_pixel(db, f0, width)
            for p in range(first, end):
                b0 = simd.add(b0, simd.load(dy, p * filters + f0))
                b1 = simd.add(b1, simd.load(dy, p * filters + f0 + width))
            _store_pixel(db, f0, width, b0, b1, False)
            for tap in range(0, offsets.size, TAP_BLOCK):
                o0, o1, o2 = offsets[tap], offsets[tap + 1], offsets[tap + 2]
                o3, o4, o5 = offsets[tap + 3], offsets[tap + 4], offsets[tap + 5]
                k = tap * filters + f0
                a00, a01 = _load_pixel(dw, k, width)
                a10, a11 = _load_pixel(dw, k + filters, width)
                a20, a21 = _load_pixel(dw, k + 2 * filters, width)
                a30, a31 = _load_pixel(dw, k + 3 * filters, width)
                a40, a41 = _load_pixel(dw, k + 4 * filters, width)
                a50, a51 = _load_pixel(dw, k + 5 * filters, width)
                for p in range(first, end):
                    s = starts[p - first]
                    d0, d1 = _load_pixel(dy, p * filters + f0, width)
                    a00, a01 = _fma_pixel(xp, s + o0, d0, d1, a00, a01)
                    a10, a11 = _fma_pixel(xp, s + o1, d0, d1, a10, a11)
                    a20, a21 = _fma_pixel(xp, s + o2, d0, d1, a20, a21)
                    a30, a31 = _fma_pixel(xp, s + o3, d0, d1, a30, a31)
                    a40, a41 = _fma_pixel(xp, s + o4, d0, d1, a40, a41)
                    a50, a51 = _fma_pixel(xp, s + o5, d0, d1, a50, a51)
                _store_pixel(dw, k, width, a00, a01, False)
                _store_pixel(dw, k + filters, width, a10, a11, False)
                _store_pixel(dw, k + 2 * filters, width, a20, a21, False)
                _store_pixel(dw, k + 3 * filters, width, a30, a31, False)
                _store_pixel(dw, k + 4 * filters, width, a40, a41, False)
                _store_pixel(dw, k + 5 * filters, width, a50, a51, False)


# ----- pooling ----------------------------------------------------------------------------
_window_cells = _compiled(window_cells)


@_compiled_nogil
def _max_pool_forward(x, ph, pw, sh, sw, top, left, y, winner, first, end):
    """y[n,i,j,ch] = max of x over the real cells of the window; winner[n,i,j,ch] = the
    flat index (r*W + c)*C + ch of the first maximum in row-major order (strict >; a NaN
    counts as the maximum, as in np.argmax). Padded cells are never visited, so they never
    win. The channel loop has no branches (both stores always happen, with a select), so
    LLVM vectorises it: 1.7x faster than an ``if``. With ``winner=None`` (inference) Numba
    compiles a version without the winners (0.42 against 0.57 ms for 35x32x32x32). Tasks
    [first, end) of the n*oh output rows."""
    n, h, w, channels = x.shape
    _, oh, ow, _ = y.shape
    for task in range(first, end):
        img, i = task // oh, task % oh
        r0, r1 = _window_cells(i, sh, top, ph, h)
        for j in range(ow):
            c0, c1 = _window_cells(j, sw, left, pw, w)
            best = y[img, i, j]
            for ch in range(channels):
                best[ch] = x[img, r0, c0, ch]
            if winner is not None:
                best_at = winner[img, i, j]
                for ch in range(channels):
                    best_at[ch] = (r0 * w + c0) * channels + ch
            for r in range(r0, r1):
                for c in range(c0, c1):
                    cell, base = x[img, r, c], (r * w + c) * channels
                    for ch in range(channels):
                        value, current = cell[ch], best[ch]
                        take = (value > current) | ((value != value) & (current == current))
                        best[ch] = value if take else current
                        if winner is not None:
                            best_at[ch] = base + ch if take else best_at[ch]


@_compiled_nogil
def _max_pool_backward(dy, winner, dx_flat, first, end):
    """dx_flat[n, winner[n,i,j,ch]] += dy[n,i,j,ch]; dx_flat is (N, H*W*C), zeroed here.
    Images [first, end) (whole images: windows of one image may share a winner)."""
    n, oh, ow, channels = dy.shape
    for img in range(first, end):
        dx_flat[img, :] = 0
        for i in range(oh):
            for j in range(ow):
                for ch in range(channels):
                    dx_flat[img, winner[img, i, j, ch]] += dy[img, i, j, ch]


@_compiled_nogil
def _avg_pool_forward(x, ph, pw, sh, sw, top, left, y, first, end):
    """y[n,i,j,:] = (sum of x over the real cells of the window) / (their number), for
    tasks [first, end) of the n*oh output rows."""
    n, h, w, channels = x.shape
    _, oh, ow, _ = y.shape
    for task in range(first, end):
        img, i = task // oh, task % oh
        r0, r1 = _window_cells(i, sh, top, ph, h)
        for j in range(ow):
            c0, c1 = _window_cells(j, sw, left, pw, w)
            out = y[img, i, j]
            out[:] = 0
            for r in range(r0, r1):
                for c in range(c0, c1):
                    for ch in range(channels):
                        out[ch] += x[img, r, c, ch]
            count = y.dtype.type((r1 - r0) * (c1 - c0))
            for ch in range(channels):
                out[ch] /= count


@_compiled_nogil
def _avg_pool_backward(dy, ph, pw, sh, sw, top, left, dx, first, end):
    """Each real cell of window (i, j) receives dy[n,i,j,:] / (number of real cells), for
    images [first, end) (whole images: overlapping windows of one image add into the same
    cells)."""
    n, h, w, channels = dx.shape
    _, oh, ow, _ = dy.shape
    for img in range(first, end):
        dx[img] = 0
        for i in range(oh):
            r0, r1 = _window_cells(i, sh, top, ph, h)
            for j in range(ow):
                c0, c1 = _window_cells(j, sw, left, pw, w)
                count = dy.dtype.type((r1 - r0) * (c1 - c0))
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        for ch in range(channels):
                            dx[img, r, c, ch] += dy[img, i, j, ch] / count


# ----- elementwise: relu, dropout -----------------------------------------------------------
@_compiled_nogil
def _relu_forward(x, y, first, end):
    """y = x where x >= 0 else 0 (NaN passes through, as with np.maximum)."""
    for k in range(np.uintp(first), np.uintp(end)):
        y[k] = 0 if x[k] < 0 else x[k]


@_compiled_nogil
def _relu_backward(y, dy, dx, first, end):
    """dx = dy where y > 0 else 0."""
    for k in range(np.uintp(first), np.uintp(end)):
        dx[k] = dy[k] if y[k] > 0 else 0


@_compiled_nogil
def _dropout_threshold(uniforms, rate, scale, mask, first, end):
    """mask = scale where the uniform draw is >= rate (kept), else 0."""
    for k in range(np.uintp(first), np.uintp(end)):
        mask[k] = scale if uniforms[k] >= rate else 0


# ----- softmax + cross-entropy ---------------------------------------------------------------
@_compiled
def _softmax_rows(z, p, row):
    """p[row] = softmax(z[row]); returns log of the shifted normaliser and the row max,
    so that log p_k = z_k - max - log_normaliser."""
    top = z[row, 0]
    for k in range(1, z.shape[1]):
        top = max(top, z[row, k])
    total = z.dtype.type(0)
    for k in range(z.shape[1]):
        p[row, k] = np.exp(z[row, k] - top)
        total += p[row, k]
    for k in range(z.shape[1]):
        p[row, k] /= total
    return np.log(total), top


@_compiled
def _softmax_xent_labels(z, labels, losses, grad):
    """losses[n] = log sum_k e^{z_nk} - z_{n,label};  grad = softmax(z) - onehot(label)."""
    for row in range(z.shape[0]):
        log_total, top = _softmax_rows(z, grad, row)
        label = labels[row]
        losses[row] = log_total - (z[row, label] - top)
        grad[row, label] -= 1


@_compiled
def _softmax_xent_rows(z, targets, losses, grad):
    """losses[n] = -sum_k y_nk log p_nk;  grad = p * sum_k y_nk - y."""
    for row in range(z.shape[0]):
        log_total, top = _softmax_rows(z, grad, row)
        loss = z.dtype.type(0)
        weight = z.dtype.type(0)
        for k in range(z.shape[1]):
            loss -= targets[row, k] * (z[row, k] - top - log_total)
            weight += targets[row, k]
        losses[row] = loss
        for k in range(z.shape[1]):
            grad[row, k] = grad[row, k] * weight - targets[row, k]


# ----- optimizer updates (flat, in place) ------------------------------------------------------
@_compiled_nogil
def _sgd(p, g, velocity, lr, momentum, nesterov, first, end):
    """Without velocity: p -= lr g. With: v = momentum v - lr g, then
    p += momentum v - lr g (nesterov) or p += v."""
    for k in range(np.uintp(first), np.uintp(end)):
        if velocity is None:
            p[k] -= lr * g[k]
        else:
            velocity[k] = momentum * velocity[k] - lr * g[k]
            if nesterov:
                p[k] += momentum * velocity[k] - lr * g[k]
            else:
                p[k] += velocity[k]


@_compiled_nogil
def _rmsprop(p, g, avg_sq, mom, avg_g, lr, rho, one_minus_rho, momentum, eps, first, end):
    """a = rho a + (1-rho) g^2; denominator a + eps, minus mg^2 when centered (mg = rho mg
    + (1-rho) g); inc = lr g / sqrt(denominator); p -= inc, or with momentum m = momentum m
    + inc, p -= m."""
    for k in range(np.uintp(first), np.uintp(end)):
        avg_sq[k] = rho * avg_sq[k] + one_minus_rho * g[k] * g[k]
        denom = avg_sq[k] + eps
        if avg_g is not None:
            avg_g[k] = rho * avg_g[k] + one_minus_rho * g[k]
            denom -= avg_g[k] * avg_g[k]
        inc = lr * g[k] / np.sqrt(denom)
        if mom is not None:
            mom[k] = momentum * mom[k] + inc
            p[k] -= mom[k]
        else:
            p[k] -= inc


@_compiled_nogil
def _adam(p, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, eps, first, end):
    """m += (g - m)(1-b1); v += (g^2 - v)(1-b2); p -= alpha m / (sqrt(v) + eps)."""
    for k in range(np.uintp(first), np.uintp(end)):
        m[k] += (g[k] - m[k]) * one_minus_beta_1
        v[k] += (g[k] * g[k] - v[k]) * one_minus_beta_2
        p[k] -= alpha * m[k] / (np.sqrt(v[k]) + eps)


@_compiled_nogil
def _adamax(p, g, m, u, step, one_minus_beta_1, beta_2, eps, first, end):
    """m += (g - m)(1-b1); u = max(b2 u, |g|); p -= step m / (u + eps)."""
    for k in range(np.uintp(first), np.uintp(end)):
        m[k] += (g[k] - m[k]) * one_minus_beta_1
        u[k] = max(beta_2 * u[k], abs(g[k]))
        p[k] -= step * m[k] / (u[k] + eps)


def _compute_dtype(*arrays_or_dtypes):
    """The dtype the direct kernels compute in: the arrays' common float32 or float64, float32
    for anything else (float16)."""
    dtype = np.result_type(*arrays_or_dtypes)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32)


def _vector_pairs(count, dtype):
    """``count`` rounded up to a multiple of 2 vectors of ``dtype`` (the direct kernels'
    filter block)."""
    block = 2 * simd.VECTOR_BYTES // dtype.itemsize
    return -(-count // block) * block


def _with_filters(a, filters, dtype):
    """``a`` (weights or bias, filters on the last axis) as a C-contiguous ``dtype`` array
    with zero filters appended up to ``filters``; ``a`` itself when it already is one."""
    if a.shape[-1] == filters:
        return np.ascontiguousarray(a, dtype=dtype)
    padded = np.zeros((*a.shape[:-1], filters), dtype=dtype)
    padded[..., :a.shape[-1]] = a
    return padded


def _flat(*arrays):
    """1-D views of C-contiguous arrays (None stays None), or None if any array would need
    a copy (an in-place update through a copy would be lost)."""
    if any(a is not None and not a.flags.c_contiguous for a in arrays):
        return None
    return [None if a is None else a.reshape(-1) for a in arrays]




class NumbaBackend(NumpyBackend):
    """Numba-compiled kernels; everything not overridden comes from the NumPy tier."""

    name = "numba"

    def __init__(self):
        self._local = threading.local()

    def _scratch(self, purpose, shape, dtype):
        """A scratch array of ``shape`` reused between calls (one growing buffer per purpose,
        dtype and Python thread). Its contents are valid until the next call that asks for
        the same purpose, so kernels only use it within one call."""
        buffers = self._local.__dict__.setdefault("buffers", {})
        key, size = (purpose, np.dtype(dtype)), math.prod(shape)
        if key not in buffers or buffers[key].size < size:
            buffers[key] = np.empty(size, dtype=dtype)
        return buffers[key][:size].reshape(shape)

    def matmul(self, a, b, out=None):
        """``a @ b`` split over the threads (see :mod:`kernels.gemm`)."""
        return gemm.matmul(a, b, out)

    # ----- convolution ----------------------------------------------------------------
    def _padded(self, x, pads, purpose=None):
        """x surrounded by ``pads`` zeros, C-contiguous: when padded, a new array, or with a
        ``purpose`` a scratch array reused between calls (one per purpose)."""
        (top, bottom), (left, right) = pads
        if top == bottom == left == right == 0:
            return np.ascontiguousarray(x)
        n, h, w, cin = x.shape
        shape = (n, h + top + bottom, w + left + right, cin)
        xp = np.empty(shape, x.dtype) if purpose is None else self._scratch(purpose, shape, x.dtype)
        _pad_into(x, top, left, xp)
        return xp

    def conv2d_forward(self, x, w, b, strides, pads):
        return self._conv_direct_forward(x, w, b, strides, pads, relu=False)

    def conv2d_relu_forward(self, x, w, b, strides, pads):
        """The relu is applied by the convolution kernel as it stores each output."""
        return self._conv_direct_forward(x, w, b, strides, pads, relu=True)

    def conv2d_max_pool_values(self, x, w, b, strides, pads, relu):
        """The kernel takes the pooling window's maximum before it stores anything."""
        return self._conv_direct_forward(x, w, b, strides, pads, relu, pooled=True)[0]

    def _conv_direct_forward(self, x, w, b, strides, pads, relu, pooled=False, purpose=None):
        """y = conv(x, w) + b by the direct kernel :func:`_conv_direct` (relu(y) when
        ``relu``; its 2x2, stride 2 max-pooling when ``pooled``), in x's dtype (float16
        computes in float32). The filters are padded with zero columns to a multiple of
        the kernel's 2 vectors and the extra outputs dropped.

        Why direct rather than im2col tiles + BLAS: on the seed models' layers (2 threads,
        side by side) it ran at 1.1x to 1.7x the tiles' speed, except 0.95x for 64 -> 128
        channels at 8x8 and 0.86x for 128 -> 128. Single-threaded OpenBLAS multiplies
        products with only 32 or 64 columns (the filters) at 45 to 65 % of its peak, and the
        im2col copy comes on top; the first layers (1 or 3 input channels, tiny im2col rows)
        gain the most."""
        n, h, wd, cin = x.shape
        kh, kw, _, cout = w.shape
        oh, ow = padded_output_size(h, kh, strides[0], *pads[0]), padded_output_size(wd, kw, strides[1], *pads[1])
        dtype = np.result_type(x, w, *([] if b is None else [b]))
        compute = _compute_dtype(dtype)
        filters = _vector_pairs(cout, compute)
        weights = _with_filters(w, filters, compute)
        bias = _with_filters(np.zeros(cout, compute) if b is None else b, filters, compute)
        xp = self._padded(x.astype(compute, copy=False), pads, purpose)
        y = np.empty((n, oh // 2, ow // 2, filters) if pooled else (n, oh, ow, filters), dtype=compute)
        chunks = -(-y.size // filters * (4 if pooled else 1) // CHUNK_PIXELS)
        _split(_conv_direct, chunks, xp.reshape(-1), *xp.shape[1:], weights.reshape(-1), bias, kh, kw, *strides,
               oh, ow, relu, pooled, y.reshape(-1), split=chunks * CHUNK_PIXELS * kh * kw * cin * filters >= SPLIT_MACS)
        if filters != cout or compute != dtype:
            y = np.ascontiguousarray(y[..., :cout], dtype=dtype)
        ctx = SimpleNamespace(x=x, xp=xp, w=w, strides=strides, pads=pads, out_hw=(oh, ow), has_bias=b is not None)
        return y, ctx

    def conv2d_backward(self, ctx, dy, need_dx=True):
        """dW and db by the direct kernel :func:`_conv_weight_grad`; dx (skipped when
        ``need_dx`` is false) as a forward convolution of dy when the strides are 1
        (:meth:`_input_gradient_by_convolution`), else one tile of rows at a time: dcols =
        dY_tile @ W^T on BLAS, then col2im adds the tile into dx. Each thread takes a range
        of whole images (windows of one image overlap in dx) and sums its own dW and db; the
        sums are added at the end, in a fixed order. The padded x comes from the forward
        pass (padding it again cost a seed002_cifar10_deep training step 2.5 of its 64 ms).

        Why direct for dW: the product cols^T @ dY that it replaces has only 32 to 128
        columns and needed the im2col matrix built tile by tile; on the seed models' layers
        (2 threads, side by side) the kernel ran 1.6x to 1.9x as fast on the first layers (3
        input channels), 1.2x to 1.4x on 32 and 64 channels, and 0.87x to 0.96x for
        128 -> 128 channels at 8x8. Why tiles for strided dx: a direct kernel for it (6
        pixels x 16 taps, adding into dx) measured 0.85x to 1.3x, no clear gain.
        Why tiles: the whole dcols matrix is kh*kw times larger than x (37 MB for a batch of
        32 through a 3x3 conv with 32 channels at 32x32); a tile of ``TILE_BYTES`` stays in
        cache between the product and col2im."""
        kh, kw, cin, cout = ctx.w.shape
        n, h, wd, _ = ctx.x.shape
        (oh, ow), taps, per_image = ctx.out_hw, kh * kw * cin, ctx.out_hw[0] * ctx.out_hw[1]
        compute = _compute_dtype(ctx.x, dy)
        filters = _vector_pairs(cout, compute)
        dy2 = dy.reshape(-1, cout).astype(compute, copy=False)
        dy_filters = _with_filters(dy2, filters, compute).reshape(-1)
        xp = ctx.xp if ctx.xp.dtype == compute else self._padded(ctx.x.astype(compute, copy=False), ctx.pads)
        dw_rows = -(-taps // TAP_BLOCK) * TAP_BLOCK
        tiles = need_dx and tuple(ctx.strides) != (1, 1)
        if tiles:
            w2t = ctx.w.reshape(taps, cout).T.astype(compute, copy=False)
            dx = np.empty(ctx.x.shape, dtype=compute)
            dx_rows = dx.reshape(n, h, wd * cin)

        def one_thread(first_image, end_image):
            dw, db = np.zeros(dw_rows * filters, compute), np.zeros(filters, compute)
            _conv_weight_grad(xp.reshape(-1), *xp.shape[1:], dy_filters, kh, kw, *ctx.strides, oh, ow, dw, db,
                              first_image * per_image, end_image * per_image)
            if tiles:
                dx[first_image:end_image] = 0
                tile = max(1, TILE_BYTES // (taps * dx.itemsize))
                dcols_buffer = self._scratch("dcols", (tile, taps), dx.dtype)
                for first_row in range(first_image * per_image, end_image * per_image, tile):
                    dy_tile = dy2[first_row:min(first_row + tile, end_image * per_image)]
                    dcols = np.matmul(dy_tile, w2t, out=dcols_buffer[:len(dy_tile)])
                    _col2im_rows(dcols, kh, kw, *ctx.strides, ctx.pads[0][0], ctx.pads[1][0], oh, ow, first_row,
                                 dx_rows)
            return dw, db

        sums = _split(one_thread, n, split=n * per_image * taps * filters >= SPLIT_MACS)
        dw, db = sums[0]
        for other_dw, other_db in sums[1:]:
            dw += other_dw
            db += other_db
        if tiles:
            dx = dx.astype(np.result_type(dy, ctx.w), copy=False)
        else:
            dx = self._input_gradient_by_convolution(ctx, dy) if need_dx else None
        grad_dtype = np.result_type(ctx.x, dy)
        dw = dw.reshape(dw_rows, filters)[:taps, :cout].reshape(ctx.w.shape).astype(grad_dtype, copy=False)
        db = db[:cout].astype(grad_dtype, copy=False) if ctx.has_bias else None
        return dx, dw, db

    def _input_gradient_by_convolution(self, ctx, dy):
        """dx of a stride-1 convolution, computed as a forward convolution by
        :func:`_conv_direct` (so at the forward pass's speed).

        With stride 1, output pixel (i, j) reads input pixel (r, c) = (i + a - top,
        j + b - left) through tap (a, b), so

            dx[n, r, c, ci] = sum_{a, b, co} dy[n, r + top - a, c + left - b, co] w[a, b, ci, co]

        over the (i, j) inside dy. Writing a' = kh-1-a and b' = kw-1-b, that is a 'valid'
        convolution of dyp, dy padded with zeros by kh-1-top rows above and kh-1-bottom
        below (kw-1-left and kw-1-right at the sides), with the kernel turned by 180 degrees
        and its channel axes swapped:

            dx[n, r, c, ci] = sum_{a', b', co} dyp[n, r + a', c + b', co] w[kh-1-a', kw-1-b', ci, co]

        Each dx value is then summed by one thread in one order, with no scatter."""
        kh, kw = ctx.w.shape[:2]
        (top, bottom), (left, right) = ctx.pads
        turned = ctx.w[::-1, ::-1].transpose(0, 1, 3, 2)
        pads = ((kh - 1 - top, kh - 1 - bottom), (kw - 1 - left, kw - 1 - right))
        return self._conv_direct_forward(dy, turned, None, (1, 1), pads, relu=False, purpose="padded dy")[0]

    # ----- pooling --------------------------------------------------------------------
    def max_pool2d_forward(self, x, pool, strides, pads):
        """Max over the real cells of each window; ctx keeps each output's winning cell."""
        y, winner = self._max_pool(x, pool, strides, pads, winners=True)
        return y, SimpleNamespace(winner=winner, x_shape=x.shape)

    def max_pool2d_values(self, x, pool, strides, pads):
        return self._max_pool(x, pool, strides, pads, winners=False)[0]

    def _max_pool(self, x, pool, strides, pads, winners):
        """``(y, winner)`` from :func:`_max_pool_forward`; ``winner`` is None without ``winners``."""
        out_shape = window_output_shape(x.shape, pool, strides, pads)
        y = np.empty(out_shape, dtype=x.dtype)
        winner = np.empty(out_shape, dtype=np.intp) if winners else None
        _split(_max_pool_forward, out_shape[0] * out_shape[1], x, *pool, *strides, pads[0][0], pads[1][0], y,
               winner, split=x.size >= SPLIT_WORK)
        return y, winner

    def max_pool2d_backward(self, ctx, dy):
        n = ctx.x_shape[0]
        dx = np.empty(ctx.x_shape, dtype=dy.dtype)
        _split(_max_pool_backward, n, dy, ctx.winner, dx.reshape(n, -1), split=dx.size >= SPLIT_WORK)
        return dx

    def avg_pool2d_forward(self, x, pool, strides, pads):
        y = np.empty(window_output_shape(x.shape, pool, strides, pads), dtype=x.dtype)
        _split(_avg_pool_forward, y.shape[0] * y.shape[1], x, *pool, *strides, pads[0][0], pads[1][0], y,
               split=x.size >= SPLIT_WORK)
        return y, SimpleNamespace(pool=pool, strides=strides, pads=pads, x_shape=x.shape)

    def avg_pool2d_backward(self, ctx, dy):
        dx = np.empty(ctx.x_shape, dtype=dy.dtype)
        _split(_avg_pool_backward, dx.shape[0], dy, *ctx.pool, *ctx.strides, ctx.pads[0][0], ctx.pads[1][0], dx,
               split=dx.size >= SPLIT_WORK)
        return dx

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        x = np.ascontiguousarray(x)
        y = np.empty_like(x)
        _split(_relu_forward, x.size, x.reshape(-1), y.reshape(-1), split=x.size >= SPLIT_ELEMENTS)
        return y

    def relu_backward(self, y, dy):
        y, dy = np.ascontiguousarray(y), np.ascontiguousarray(dy)
        dx = np.empty_like(dy)
        _split(_relu_backward, y.size, y.reshape(-1), dy.reshape(-1), dx.reshape(-1),
               split=y.size >= SPLIT_ELEMENTS)
        return dx

    def dropout_mask(self, shape, rate, rng, dtype):
        """Same draws as the NumPy tier (float32 uniforms from ``rng``, kept when >= rate,
        scaled by 1 / (1 - rate)), thresholded and scaled in one pass."""
        dtype = np.dtype(dtype)
        uniforms = rng.random(shape, dtype=np.float32)
        mask = np.empty(shape, dtype=dtype)
        _split(_dropout_threshold, mask.size, uniforms.reshape(-1), np.float32(rate), dtype.type(1.0 / (1.0 - rate)),
               mask.reshape(-1), split=mask.size >= SPLIT_ELEMENTS)
        return mask

    def softmax_cross_entropy(self, logits, targets):
        """See the NumPy tier; one pass per row, in the logits' dtype."""
        losses = np.empty(logits.shape[0], dtype=logits.dtype)
        grad = np.empty_like(logits)
        if targets.ndim == 1:
            _softmax_xent_labels(logits, targets, losses, grad)
        else:
            _softmax_xent_rows(logits, targets.astype(logits.dtype, copy=False), losses, grad)
        return losses, grad

    # ----- optimizer updates (in place on p and its slots) ------------------------------
    def sgd_update(self, p, g, velocity, lr, momentum, nesterov):
        flat = _flat(p, g, velocity)
        if flat is None:
            return super().sgd_update(p, g, velocity, lr, momentum, nesterov)
        t = p.dtype.type
        _split(_sgd, p.size, *flat, t(lr), t(momentum), bool(nesterov), split=p.size >= SPLIT_ELEMENTS)

    def rmsprop_update(self, p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps):
        flat = _flat(p, g, avg_sq, mom, avg_g)
        if flat is None:
            return super().rmsprop_update(p, g, avg_sq, mom, avg_g, lr, rho, momentum, eps)
        t = p.dtype.type
        _split(_rmsprop, p.size, *flat, t(lr), t(rho), t(1 - rho), t(momentum), t(eps),
               split=p.size >= SPLIT_ELEMENTS)

    def adam_update(self, p, g, m, v, lr, beta_1, beta_2, eps, t):
        flat = _flat(p, g, m, v)
        if flat is None:
            return super().adam_update(p, g, m, v, lr, beta_1, beta_2, eps, t)
        cast = p.dtype.type
        alpha = lr * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t)
        _split(_adam, p.size, *flat, cast(alpha), cast(1 - beta_1), cast(1 - beta_2), cast(eps),
               split=p.size >= SPLIT_ELEMENTS)

    def adamax_update(self, p, g, m, u, lr, beta_1, beta_2, eps, t):
        flat = _flat(p, g, m, u)
        if flat is None:
            return super().adamax_update(p, g, m, u, lr, beta_1, beta_2, eps, t)
        cast = p.dtype.type
        _split(_adamax, p.size, *flat, cast(lr / (1 - beta_1 ** t)), cast(1 - beta_1), cast(beta_2), cast(eps),
               split=p.size >= SPLIT_ELEMENTS)
