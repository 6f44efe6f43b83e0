"""Hypothesis strategies for the test suite.

Everything from :mod:`tinycnn.testing.strategies` (the strategies users get too) is
re-exported; the few below are only needed by tinycnn's own tests.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from tinycnn.kernels.geometry import plan_2d
from tinycnn.testing.strategies import *  # noqa: F401,F403  (re-export)
from tinycnn.testing.strategies import (  # noqa: F401  (names used below, and for linters)
    WindowConfig, arrays, away_from_zero, conv_configs, distinct_values, pool_configs, shapes,
    window_configs, window_geometry)


def seeds():
    """Seeds for ``np.random.default_rng``: tests that build several related arrays draw
    one seed and build them all from it."""
    return st.integers(0, 2**32 - 1)


def broadcast_pairs(max_dims=3, max_side=3):
    """Two shapes that broadcast together (sizes of 1 and missing leading axes included),
    e.g. ((2, 1, 3), (4, 1))."""
    return mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims,
                                         min_side=1, max_side=max_side).map(lambda s: s.input_shapes)


@st.composite
def shape_and_axis(draw, max_dims=4, max_side=4):
    """``(shape, axis, keepdims)`` for a reduction: ``axis`` is None, one axis (possibly
    negative) or a tuple of distinct axes."""
    shape = draw(shapes(min_dims=1, max_dims=max_dims, max_side=max_side))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "one", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "one":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))
    return shape, axis, draw(st.booleans())


@st.composite
def matmul_shapes(draw, max_side=3):
    """Shapes ``(a, b)`` for ``a @ b``: plain matrices or stacks with broadcasting leading
    axes, e.g. ((2, 1, 3, 4), (5, 4, 2)) or ((3, 4), (2, 4, 5))."""
    m, k, n = (draw(st.integers(1, max_side)) for _ in range(3))
    lead_a, lead_b = draw(broadcast_pairs(max_dims=2, max_side=max_side))
    return (*lead_a, m, k), (*lead_b, k, n)


def probabilities(shape, low=0.05, high=0.95):
    """Arrays of ``shape`` with every element in [low, high]: probabilities that stay
    clear of the 1e-7 clip of Keras's cross-entropies (and of 0 and 1)."""
    return arrays(shape, low=low, high=high)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """Float64 one-hot rows for integer ``labels`` (written out here so the tests do not
    depend on :func:`tinycnn.utils.to_categorical`)."""
    out = np.zeros((len(labels), classes))
    out[np.arange(len(labels)), labels] = 1.0
    return out

def conv_case(config, seed, dtype, bias=True):
    """Arrays for one convolution: x, w, b (or None), dy, strides and pads."""
    _, strides, out_hw, pads = plan_2d("conv2d", (config.h, config.w), config.window,
                                       config.strides, config.padding)
    r = np.random.default_rng(seed)
    x = r.normal(size=config.input_shape).astype(dtype)
    w = r.normal(size=config.kernel_shape).astype(dtype)
    b = r.normal(size=config.c_out).astype(dtype) if bias else None
    dy = r.normal(size=(config.n, *out_hw, config.c_out)).astype(dtype)
    return x, w, b, dy, strides, pads
