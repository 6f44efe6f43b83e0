"""The Numba tier's pointwise kernels: relu, gelu and dropout's threshold, one pass each.

GELU on float32 reads Phi(x) and GELU's derivative Phi(x) + x phi(x) from two tables of
2^16 intervals over [-8, 8], linearly interpolated (error below 1e-8, far under float32's
6e-8 rounding; outside the range Phi is 0 or 1 to float32 precision): two loads and a
multiply-add per element instead of an exp, about 2x faster, and GELU is about a quarter
of a training step of the speedrun's network. float64 (the gradient checks) computes the
rules themselves.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import rules
from . import loops
from .loops import compiled_nogil, rule

_relu, _relu_grad, _dropout_keep = rule(rules.relu), rule(rules.relu_grad), rule(rules.dropout_keep)
_uniform_of = rule(rules.uniform_of)
_cdf, _pdf = rule(rules.normal_cdf), rule(rules.normal_pdf)


@compiled_nogil
def _relu_forward(x, y, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        y[k] = _relu(x[k])


@compiled_nogil
def _relu_backward(y, dy, dx, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        dx[k] = _relu_grad(y[k], dy[k])


@compiled_nogil
def _gelu_forward(x, y, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        y[k] = x[k] * _cdf(x[k])           # gelu(x) = x Phi(x)


@compiled_nogil
def _gelu_backward(x, dy, dx, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        dx[k] = dy[k] * (_cdf(x[k]) + x[k] * _pdf(x[k]))


TABLE_RANGE, TABLE_STEPS = 8.0, 1 << 16


@lru_cache(maxsize=None)
def gelu_tables() -> tuple:
    """(Phi, Phi + x phi) at the TABLE_STEPS + 1 points of [-TABLE_RANGE, TABLE_RANGE], in
    float32 (built once, on the first float32 GELU: 0.05 s)."""
    x = np.linspace(-TABLE_RANGE, TABLE_RANGE, TABLE_STEPS + 1)
    cdf, derivative = np.empty_like(x), np.empty_like(x)
    _table_values(x, cdf, derivative)
    return cdf.astype(np.float32), derivative.astype(np.float32)


@compiled_nogil
def _table_values(x, cdf, derivative):
    for k in range(x.size):
        cdf[k] = _cdf(x[k])
        derivative[k] = _cdf(x[k]) + x[k] * _pdf(x[k])


@rule
def _interpolated(table, v):
    """table at v by linear interpolation (v clamped to the table's range)."""
    u = min(max((np.float64(v) + TABLE_RANGE) * (TABLE_STEPS / (2 * TABLE_RANGE)), 0.0), TABLE_STEPS - 1e-6)
    i = np.intp(u)
    return table[i] + (u - i) * (table[i + 1] - table[i])


@compiled_nogil
def _gelu_forward_table(x, cdf, y, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        y[k] = x[k] * _interpolated(cdf, x[k])


@compiled_nogil
def _gelu_backward_table(x, dy, derivative, dx, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        dx[k] = dy[k] * _interpolated(derivative, x[k])


@compiled_nogil
def _dropout_threshold(bits, rate, scale, mask, first, end):
    for k in range(np.uintp(first), np.uintp(end)):
        mask[k] = _dropout_keep(_uniform_of(bits[k]), rate, scale)


def _map(kernel, *arrays, out_like=-1):
    """``kernel(*arrays, out, first, end)`` over every element, into a new array shaped as
    ``arrays[out_like]`` (split over the threads for large arrays)."""
    arrays = [np.ascontiguousarray(a) for a in arrays]
    out = np.empty_like(arrays[out_like])
    loops.run(kernel, out.size, *(a.reshape(-1) for a in arrays), out.reshape(-1),
              split=out.size >= loops.SPLIT_ELEMENTS)
    return out


class Pointwise:
    """relu and gelu forward and backward, dropout's mask."""

    # ----- activations, dropout, loss ---------------------------------------------------
    def relu_forward(self, x):
        return _map(_relu_forward, x)

    def relu_backward(self, y, dy):
        return _map(_relu_backward, y, dy)

    def gelu_forward(self, x):
        if x.dtype == np.float32:
            return _map(_gelu_forward_table, x, gelu_tables()[0], out_like=0)
        return _map(_gelu_forward, x)

    def gelu_backward(self, x, dy):
        if dy.dtype == np.float32:
            return _map(_gelu_backward_table, x, dy, gelu_tables()[1], out_like=1)
        return _map(_gelu_backward, x, dy)

    def dropout_mask(self, shape, rate, rng, dtype):
        """Same draws as the NumPy tier (:func:`rules.random_bits` from ``rng``, kept when
        their uniform is >= rate, scaled by 1 / (1 - rate)), made uniform, thresholded and
        scaled in one pass."""
        dtype = np.dtype(dtype)
        bits = rules.random_bits(shape, rng)
        mask = np.empty(shape, dtype=dtype)
        loops.run(_dropout_threshold, mask.size, bits.reshape(-1), np.float32(rate), dtype.type(1.0 / (1.0 - rate)),
               mask.reshape(-1), split=mask.size >= loops.SPLIT_ELEMENTS)
        return mask
