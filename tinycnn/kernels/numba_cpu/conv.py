"""The Numba tier's convolution: direct kernels in vector registers, forward and backward."""
from __future__ import annotations

import numpy as np
from types import SimpleNamespace

from .. import simd
from ..geometry import padded_output_size
from . import loops
from .loops import compiled, compiled_nogil

TILE_BYTES = 1 << 20   # dcols tile size in conv2d_backward (1 MiB was fastest of 256 KiB to 4 MiB for im2col tiles)



# ----- col2im, the input gradient's scatter -------------------------------------------------
@compiled
def _real_taps(c_start, kw, w):
    """The kernel columns [b0, b1) whose input column c_start + b lies inside [0, w)."""
    b0 = min(max(-c_start, 0), kw)
    return b0, max(min(kw, w - c_start), b0)


def _pad_images(x, top, left, xp, first, end):
    """xp[first:end] = images [first, end) of x surrounded by zeros, x's pixel (r, c)
    landing at (top + r, left + c). Plain NumPy slices: zeroing only the border strips and
    copying the interior is faster than a compiled loop here (0.19 vs 0.33 ms for
    35x32x32x32) and costs no compile time; NumPy lets go of the GIL while it copies, so
    threads pad their own images side by side."""
    h, w = x.shape[1:3]
    x, xp = x[first:end], xp[first:end]
    xp[:, :top] = 0
    xp[:, top + h:] = 0
    xp[:, top:top + h, :left] = 0
    xp[:, top:top + h, left + w:] = 0
    xp[:, top:top + h, left:left + w] = x


def _pad_into(x, top, left, xp):
    """xp = x surrounded by zeros (see :func:`_pad_images`), split over the threads by
    images when large: padding a (256, 15, 15, 128) batch took 5.8 ms on one thread and
    2.6 ms on two, and the speedrun's training step (eleven such copies) about 4 % less
    time (2-core Intel Xeon, AVX-512)."""
    loops.run(_pad_images, len(x), x, top, left, xp, split=xp.size >= loops.SPLIT_ELEMENTS)


@compiled_nogil
def _output_pixel(row, oh, ow):
    """(image, i, j) of row ``row`` of the im2col matrix, whose rows run over (n, i, j)."""
    img, rest = row // (oh * ow), row % (oh * ow)
    return img, rest // ow, rest % ow


@compiled_nogil
def _next_pixel(img, i, j, oh, ow):
    """The output pixel after (img, i, j) in row-major order (cheaper than dividing again)."""
    if j + 1 < ow:
        return img, i, j + 1
    if i + 1 < oh:
        return img, i + 1, 0
    return img + 1, 0, 0


@compiled_nogil
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


# ----- forward: direct, in vector registers ------------------------------------------------
# output pixels per register block: with 2 vectors of filters, 16 accumulators in AVX-512's 32 registers,
# 8 in AVX2's 16 (with 16 there, LLVM spills them and the kernel ran 1.4x slower, measured)
BLOCK_PIXELS = 8 if simd.VECTOR_BYTES == 64 else 4

WIDE = BLOCK_PIXELS == 8   # a compile-time constant in the kernels: the code for pixels 4 to 7 exists only then

CHUNK_PIXELS = 64    # output pixels per chunk (threads take whole chunks; a weight panel serves a chunk)

SEGMENT_TAPS = 128   # taps per weight panel: 128 x 16 float32 filters = 8 KiB, a quarter of L1



@compiled
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


@compiled
def _store(y, index, value, apply_relu):
    simd.store(y, index, simd.relu(value) if apply_relu else value)


@compiled
def _store_pixel(y, index, width, low, high, apply_relu):
    """A pixel's (or tap's) 2 vectors of filters into y[index : index + 2*width], relu'd
    when ``apply_relu``."""
    _store(y, index, low, apply_relu)
    _store(y, index + width, high, apply_relu)


@compiled
def _fma_pixel(x, index, low, high, sum_low, sum_high):
    """One pixel's step of a register block: the input value x[index], broadcast, times the
    2 vectors ``low`` and ``high``, added into the pixel's (or tap's) 2 sums."""
    v = simd.splat(x, index)
    return simd.fma(v, low, sum_low), simd.fma(v, high, sum_high)


@compiled
def _window_max(a, b, c, d):
    """The lane-by-lane maximum of a 2x2 pooling window's 4 pixels (NaN wins)."""
    return simd.maximum(simd.maximum(a, b), simd.maximum(c, d))


@compiled
def _load_pixel(sums, index, width):
    """The 2 vectors sums[index : index + 2*width] (a pixel's or tap's 2 vectors of filters)."""
    return simd.load(sums, index), simd.load(sums, index + width)


@compiled_nogil
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


# ----- weight gradient -----------------------------------------------------------------------
TAP_BLOCK = 6   # taps per register block of the weight gradient: 6 x 2 vectors = 12 accumulators



@compiled_nogil
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


class Convolution:
    """conv2d forward (plain, with relu, pooled) and backward on the direct kernels."""

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
        loops.run(_conv_direct, chunks, xp.reshape(-1), *xp.shape[1:], weights.reshape(-1), bias, kh, kw, *strides,
               oh, ow, relu, pooled, y.reshape(-1), split=chunks * CHUNK_PIXELS * kh * kw * cin * filters >= loops.SPLIT_MACS)
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

        sums = loops.run(one_thread, n, split=n * per_image * taps * filters >= loops.SPLIT_MACS)
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
