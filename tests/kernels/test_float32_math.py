"""The Numba tier's float32 exp, Phi and phi (kernels/numba_cpu/float32_math.py), which GELU's
float32 kernels use, against float64 references (``math.exp``, ``math.erfc``) on dense grids:
the accuracy their docstring states, and what they do at the edges (underflow, inf, NaN)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinycnn.kernels.numba_cpu import NumbaBackend, float32_math
from tinycnn.kernels.numba_cpu.loops import compiled_contracting


@compiled_contracting    # as GELU's float32 kernels compile it
def _exp_of_each(a, out):
    for k in range(a.size):
        out[k] = float32_math.exp_nonpositive(a[k])


def exp_of_each(a):
    out = np.empty_like(a)
    _exp_of_each(a, out)
    return out


def gelu_reference(x):
    """x Phi(x) and Phi(x) + x phi(x) in float64 from the math library."""
    x = np.asarray(x, dtype=np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    return x * cdf, cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def grid():
    """400,000 float32 points: a uniform grid over [-14, 14] and normal draws of scale 4."""
    return np.concatenate([np.linspace(-14, 14, 300001),
                           np.random.default_rng(0).standard_normal(99999) * 4]).astype(np.float32)


def test_exp_is_float32_accurate_down_to_its_floor_and_zero_below():
    """Relative error below 4e-7 (about 3 float32 ulp) over [-87, 0]: the Taylor series'
    truncation (< 6e-9) and float32 rounding in the reduction and the polynomial."""
    a = np.concatenate([np.linspace(-87, 0, 200001), -np.geomspace(1e-30, 1, 1000)]).astype(np.float32)
    got = exp_of_each(a)
    exact = np.exp(a.astype(np.float64))
    assert got.dtype == np.float32
    assert np.max(np.abs(got - exact) / exact) < 4e-7
    assert exp_of_each(np.float32([0.0]))[0] == 1.0
    below = exp_of_each(np.float32([-87.01, -100.0, -1e30, -np.inf]))
    np.testing.assert_array_equal(below, 0.0)


def test_gelu_float32_is_within_float32_accuracy_of_the_math_library():
    """GELU within 1e-6 relative or 1e-7 absolute; its derivative within 2e-7 absolute (its
    two terms cancel near x = -0.75, so relative error is no measure there)."""
    x = grid()
    backend = NumbaBackend()
    y = backend.gelu_forward(x)
    dx = backend.gelu_backward(x, np.ones_like(x))
    assert y.dtype == dx.dtype == np.float32
    y_exact, derivative_exact = gelu_reference(x)
    np.testing.assert_allclose(y, y_exact, rtol=1e-6, atol=1e-7)
    assert np.max(np.abs(dx - derivative_exact)) < 2e-7


def test_gelu_float32_does_at_the_edges_what_the_float64_rules_do():
    """inf, huge, zero and NaN inputs give what :mod:`kernels.rules` gives in float64 (as
    Keras's product form does: GELU(-inf) = -inf * 0 is NaN, and so is the derivative at
    +-inf), within float32 accuracy."""
    backend = NumbaBackend()
    x = np.array([np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0, np.nan, 3.0], dtype=np.float32)
    ones = np.ones_like(x)
    tol = dict(rtol=1e-6, atol=1e-7)        # NaN where the rule gives NaN, nowhere else
    np.testing.assert_allclose(backend.gelu_forward(x), backend.gelu_forward(x.astype(np.float64)), **tol)
    np.testing.assert_allclose(backend.gelu_backward(x, ones),
                               backend.gelu_backward(x.astype(np.float64), ones.astype(np.float64)), **tol)
