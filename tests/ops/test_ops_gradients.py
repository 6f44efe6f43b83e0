"""Property-based gradient checks of every differentiable op in :mod:`tinycnn.functional`.

Each test draws random float64 inputs with hypothesis and compares the op's analytic
gradient (``backward``) with central finite differences, element by element, using
:func:`tinycnn.testing.gradcheck` with its default step ``eps=1e-6`` and tolerance
``|analytic - numeric| <= atol + rtol * |numeric|``, ``atol=1e-6``, ``rtol=1e-5``. Why
that tolerance: in float64 the central difference has truncation error O(eps^2) ~ 1e-12 and
rounding error ~ 1e-16 |L| / eps ~ 1e-10 |L|, far below the tolerance, while a real mistake
in a backward pass gives errors of order 1 (see ``tinycnn/testing/gradcheck.py``). The one
exception, stated at the test, is ``cast`` through float32, whose forward pass rounds.

Kinks and ties: finite differences are only valid where the function is smooth within
eps of the input. Inputs are therefore drawn so that no kink lies within a step:

* ``away_from_zero`` arrays have |x| >= 0.05 (relu, abs, the |z| in binary cross-entropy
  from logits, mean absolute error's |y_pred - y_true|);
* ``distinct_values`` arrays are a shuffled grid with spacing 0.01 (max, max-pool: no tie
  and no near-tie a step of 1e-6 could flip);
* clip's inputs are pushed at least 0.05 away from both bounds;
* log, pow with fractional exponents and division get inputs in [0.5, 2] (away from 0);
* probabilities lie in [0.05, 0.95], so Keras's 1e-7 clip in the cross-entropies is
  inactive (and ``categorical_crossentropy`` normalises rows to values <= 0.95).

Random ops are made deterministic by passing a freshly seeded generator on every call.
Every op that calls a kernel (conv2d, the poolings, relu, gelu, dropout, batch_norm, the fused softmax
cross-entropy behind the categorical losses) is checked on every kernel tier that loads
(``tinycnn.available_backends()``, via the ``tier`` fixture in ``conftest.py``); shapes are
kept small because gradcheck runs two forward passes per input element.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tinycnn import Tensor
from tinycnn import functional as F
from tinycnn.autograd import no_grad
from tinycnn.kernels.geometry import window_geometry
from tinycnn.testing import gradcheck

from strategies import (WindowConfig, arrays, away_from_zero, broadcast_pairs, conv_configs,
                        distinct_values, matmul_shapes, one_hot, pool_configs, probabilities,
                        seeds, shape_and_axis, shapes)

small_shapes = shapes(min_dims=1, max_dims=3, max_side=4)


def _uniform(seed, shape, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ----- elementwise arithmetic, with broadcasting ------------------------------------------
@pytest.mark.parametrize("op", [F.add, F.sub, F.mul])
@given(shapes=broadcast_pairs(max_dims=3, max_side=3), seed=seeds())
def test_binary_ops_with_broadcasting(op, shapes, seed):
    """Inputs uniform in [-2, 2]; these ops are smooth everywhere."""
    r = np.random.default_rng(seed)
    gradcheck(op, r.uniform(-2, 2, shapes[0]), r.uniform(-2, 2, shapes[1]))


@given(shapes=broadcast_pairs(max_dims=3, max_side=3), seed=seeds())
def test_div_with_broadcasting(shapes, seed):
    """Numerator in [-2, 2], denominator in [0.5, 2] (away from the pole at 0)."""
    r = np.random.default_rng(seed)
    gradcheck(F.div, r.uniform(-2, 2, shapes[0]), r.uniform(0.5, 2, shapes[1]))


@given(st.data(), small_shapes)
def test_neg_and_exp(data, shape):
    """Inputs uniform in [-2, 2]; smooth everywhere."""
    x = data.draw(arrays(shape))
    gradcheck(F.neg, x)
    gradcheck(F.exp, x)


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 1.5, -2.5])
@given(st.data(), small_shapes)
def test_pow(exponent, data, shape):
    """Base in [0.5, 2] (positive, so fractional and negative powers are smooth)."""
    gradcheck(lambda x: F.pow(x, exponent), data.draw(arrays(shape, low=0.5, high=2.0)))


@given(st.data(), small_shapes)
def test_pow_integer_exponent_on_negative_base(data, shape):
    """Integer exponent: defined and smooth for any base in [-2, 2]."""
    gradcheck(lambda x: x ** 3, data.draw(arrays(shape)))


@given(st.data(), small_shapes)
def test_log_and_sqrt(data, shape):
    """Inputs in [0.5, 2]: log and sqrt are smooth away from 0."""
    x = data.draw(arrays(shape, low=0.5, high=2.0))
    gradcheck(F.log, x)
    gradcheck(F.sqrt, x)
    gradcheck(F.square, data.draw(arrays(shape)))


@given(st.data(), small_shapes)
def test_abs(data, shape):
    """|x| >= 0.05 (away_from_zero): the kink at 0 is never within a step."""
    gradcheck(F.abs, data.draw(away_from_zero(shape)))


@given(st.data(), small_shapes, st.floats(-1.0, 0.0), st.floats(0.2, 1.0))
def test_clip(data, shape, lo, width):
    """x in [-2, 2]; any element within 0.05 of a bound is moved to 0.1 from it (on its
    side; the interval is at least 0.2 wide, so it stays 0.1 from the other bound too).
    Both the clipped (gradient 0) and the passing (gradient 1) regions are exercised, but
    no bound lies within a step."""
    hi = lo + width
    x = data.draw(arrays(shape))
    for bound in (lo, hi):
        near = np.abs(x - bound) < 0.05
        x[near] = bound + np.where(x[near] >= bound, 0.1, -0.1)
    assert np.all(np.abs(x - lo) >= 0.05) and np.all(np.abs(x - hi) >= 0.05)
    gradcheck(lambda t: F.clip(t, lo, hi), x)


@given(st.data(), small_shapes)
def test_cast(data, shape):
    """float64 -> float64 is checked with the defaults. A round trip through float32
    rounds the forward pass, so it is checked with eps=2^-5 and atol=1e-5 instead: cast is
    linear, so a large step adds no truncation error, and rounding x +- eps (|x| <= 2.1) to
    float32 moves each by at most 2^-23 ~ 1.2e-7, which changes the difference quotient by
    at most 2 * 1.2e-7 * 1.5 (the largest weight) / (2 * 2^-5) ~ 5.7e-6 < 1e-5."""
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.cast(t, np.float64) * 2.0, x)
    gradcheck(lambda t: F.cast(F.cast(t, np.float32), np.float64), x, eps=2.0 ** -5, atol=1e-5)


# ----- reductions and shapes --------------------------------------------------------------
@given(st.data(), shape_and_axis())
def test_sum_and_mean(data, config):
    """Uniform inputs; sum and mean are linear, over None, one (maybe negative) axis or a
    tuple of axes, with and without keepdims."""
    shape, axis, keepdims = config
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.sum(t, axis=axis, keepdims=keepdims), x)
    gradcheck(lambda t: F.mean(t, axis=axis, keepdims=keepdims), x)


@given(st.data(), shape_and_axis())
def test_max(data, config):
    """distinct_values inputs (spacing 0.01): the maximum is unique and stays so within a
    step, so the gradient is 1 at the argmax and 0 elsewhere."""
    shape, axis, keepdims = config
    gradcheck(lambda t: F.max(t, axis=axis, keepdims=keepdims), data.draw(distinct_values(shape)))


@given(st.data(), shapes(min_dims=1, max_dims=4, max_side=3))
def test_reshape_transpose_flatten(data, shape):
    """Uniform inputs; these ops only move values."""
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.reshape(t, (-1,)), x)
    gradcheck(lambda t: F.reshape(t, (*shape[::-1], 1)), x)
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    gradcheck(lambda t: F.transpose(t, axes), x)
    gradcheck(F.transpose, x)
    if len(shape) >= 2:
        gradcheck(F.flatten, x)


@pytest.mark.parametrize("index", [
    (1,), (slice(None), 0), (slice(1, None), slice(None, None, 2)), (Ellipsis, -1),
    (np.array([0, 2, 0]),),                       # a repeated row: gradients must add up
    (np.array([1, 1]), np.array([0, 3])),          # fancy indexing on two axes
    (np.array([[True, False, True, False]] * 3),)  # boolean mask
], ids=["int", "column", "strided", "ellipsis", "repeated-rows", "fancy", "mask"])
@given(x=arrays((3, 4)))
def test_getitem(index, x):
    """Uniform inputs; getitem scatters the gradient back, adding where indices repeat."""
    gradcheck(lambda t: F.getitem(t, index), x)


@given(st.data(), matmul_shapes())
def test_matmul(data, shapes):
    """Matrices and stacks with broadcast leading axes; uniform inputs."""
    a, b = shapes
    gradcheck(F.matmul, data.draw(arrays(a)), data.draw(arrays(b)))


# ----- activations --------------------------------------------------------------------------
@given(st.data(), small_shapes)
def test_relu(tier, data, shape):
    """|x| >= 0.05 (away_from_zero): relu's kink at 0 is never within a step."""
    gradcheck(F.relu, data.draw(away_from_zero(shape)))


@given(st.data(), small_shapes)
def test_gelu(tier, data, shape):
    """Inputs in [-5, 5]: the negative tail (where erf saturates), the middle and the
    nearly-linear positive side; smooth everywhere."""
    gradcheck(F.gelu, data.draw(arrays(shape, low=-5.0, high=5.0)))


@given(st.data(), small_shapes)
def test_sigmoid_tanh_linear(data, shape):
    """Inputs in [-4, 4] (both saturating tails and the middle); smooth everywhere."""
    x = data.draw(arrays(shape, low=-4.0, high=4.0))
    gradcheck(F.sigmoid, x)
    gradcheck(F.tanh, x)
    gradcheck(F.linear, x)  # the identity: returns its input tensor itself


@given(st.data(), shape_and_axis(max_dims=3))
def test_softmax_and_log_softmax(data, config):
    """Inputs in [-3, 3] over a random axis; smooth everywhere."""
    shape, axis, _ = config
    if isinstance(axis, tuple) or axis is None:
        axis = -1
    x = data.draw(arrays(shape, low=-3.0, high=3.0))
    gradcheck(lambda t: F.softmax(t, axis=axis), x)
    gradcheck(lambda t: F.log_softmax(t, axis=axis), x)


# ----- convolution and pooling, on every kernel tier -----------------------------------------
SMALL_CONV = dict(max_batch=2, max_side=5, max_channels=2, max_window=3, max_stride=3)

# 'same' with strides 2 and 3 on odd and even inputs, where TF's asymmetric padding puts the
# odd pixel at the bottom/right: ((h, w), (kh, kw), (sh, sw)), pads worked out by hand from
# out = ceil(n / s), total = max((out - 1) s + k - n, 0), before = total // 2.
SAME_STRIDED = [((4, 5), (3, 3), (2, 2)),   # h 4 (even): pads (0, 1); w 5 (odd): (1, 1)
                ((6, 7), (4, 3), (3, 3)),   # h 6, s 3: (0, 1);  w 7, s 3: (1, 1)
                ((8, 5), (3, 2), (3, 3)),   # h 8, s 3: (0, 1);  w 5, k 2, s 3: (0, 0)
                ((7, 6), (5, 5), (3, 2)),   # h 7, k 5, s 3: (2, 2);  w 6, k 5, s 2: (1, 2)
                ((5, 4), (2, 3), (2, 3))]   # h 5, k 2, s 2: (0, 1);  w 4, k 3, s 3: (1, 1)


def _conv_examples(cases, c_in=2, c_out=2):
    def add(test):
        for hw, window, strides in cases:
            test = example(cfg=WindowConfig(n=1, h=hw[0], w=hw[1], c_in=c_in, window=window,
                                            strides=strides, padding="same", c_out=c_out),
                           seed=0, bias=True)(test)
        return test
    return add


@_conv_examples(SAME_STRIDED)
@given(cfg=conv_configs(**SMALL_CONV), seed=seeds(), bias=st.booleans())
def test_conv2d(tier, cfg, seed, bias):
    """Random 'valid'/'same' configurations, strides 1-3, with and without bias; explicit
    examples cover 'same' with strides 2 and 3 on odd and even inputs. Uniform inputs:
    convolution is bilinear, smooth everywhere."""
    r = np.random.default_rng(seed)
    x, w = r.uniform(-1, 1, cfg.input_shape), r.uniform(-1, 1, cfg.kernel_shape)
    if bias:
        gradcheck(lambda x, w, b: F.conv2d(x, w, b, strides=cfg.strides, padding=cfg.padding),
                  x, w, r.uniform(-1, 1, cfg.c_out))
    else:
        gradcheck(lambda x, w: F.conv2d(x, w, strides=cfg.strides, padding=cfg.padding), x, w)


@given(cfg=conv_configs(**dict(SMALL_CONV, max_side=6, max_stride=2)), seed=seeds(), relu=st.booleans(),
       pool=st.booleans())
def test_conv2d_bias_gradient_alone(tier, cfg, seed, relu, pool):
    """Input and kernel constant (a frozen kernel on the data, as the speedrun's whitening
    layer), only the bias trained: the op sums the gradient for db without the weight
    gradient's kernel; checked with relu and pooling in front, kept from relu's kink."""
    out_hw = [window_geometry(n, k, s, cfg.padding)[0] for n, k, s in zip((cfg.h, cfg.w), cfg.window, cfg.strides)]
    assume(min(out_hw) >= 2 or not pool)
    x, w, b = _away_from_relu_kink(cfg, seed)
    gradcheck(lambda b: F.conv2d(x, w, b, strides=cfg.strides, padding=cfg.padding, relu=relu, pool=pool), b)


def _away_from_relu_kink(cfg, seed):
    """``(x, w, b)`` for a convolution whose every output is at least 0.01 from relu's kink
    at 0: inputs in [0.1, 1], weights of one sign per filter (magnitudes in [0.1, 1]) and a
    bias of that sign (each output has at least one real tap). About half of the outputs
    are cut by a relu, and none flips within a finite-difference step."""
    r = np.random.default_rng(seed)
    signs = r.choice([-1.0, 1.0], cfg.c_out)
    return (r.uniform(0.1, 1, cfg.input_shape), r.uniform(0.1, 1, cfg.kernel_shape) * signs,
            r.uniform(0.05, 0.5, cfg.c_out) * signs)


@given(cfg=conv_configs(**SMALL_CONV), seed=seeds(), bias=st.booleans())
def test_conv2d_fused_with_relu(tier, cfg, seed, bias):
    """``relu=True`` (the op behind Conv2D(activation='relu')): same values and gradients as
    relu applied after the convolution, on inputs kept away from the kink."""
    x, w, b = _away_from_relu_kink(cfg, seed)
    args = (x, w, b) if bias else (x, w)
    fused = lambda *t: F.conv2d(*t, strides=cfg.strides, padding=cfg.padding, relu=True)  # noqa: E731
    separate = F.relu(F.conv2d(*args, strides=cfg.strides, padding=cfg.padding))
    np.testing.assert_array_equal(fused(*args).data, separate.data)
    gradcheck(fused, *args)


@given(cfg=conv_configs(**dict(SMALL_CONV, max_side=6, max_stride=2)), seed=seeds(), relu=st.booleans())
def test_conv2d_fused_with_relu_and_pooling(tier, cfg, seed, relu):
    """``pool=True`` (a Conv2D followed by MaxPooling2D(2), one op): the values and
    gradients of max_pool2d(2) after the (relu'd) convolution, and in inference (where the
    tier may pool inside the convolution kernel) the same values, bit for bit. The outputs
    are kept from relu's kink and are continuous random values, so no two in a window lie
    within a finite-difference step."""
    out_hw = [window_geometry(n, k, s, cfg.padding)[0] for n, k, s in zip((cfg.h, cfg.w), cfg.window, cfg.strides)]
    assume(min(out_hw) >= 2)
    x, w, b = _away_from_relu_kink(cfg, seed)
    fused = lambda *t: F.conv2d(*t, strides=cfg.strides, padding=cfg.padding, relu=relu, pool=True)  # noqa: E731
    separate = F.conv2d(x, w, b, strides=cfg.strides, padding=cfg.padding)
    separate = F.max_pool2d(F.relu(separate) if relu else separate, 2)
    np.testing.assert_array_equal(fused(x, w, b).data, separate.data)
    with no_grad():
        np.testing.assert_array_equal(fused(x, w, b).data, separate.data)
    gradcheck(fused, x, w, b)


@pytest.mark.parametrize("hw, window, strides", SAME_STRIDED)
def test_conv2d_same_strided_cases(tier, hw, window, strides):
    """The 'same' + stride 2/3 cases once more as plain parametrized tests (so they also
    run, and show up by name, when hypothesis is configured to skip explicit examples)."""
    r = np.random.default_rng(1)
    x, w, b = r.uniform(-1, 1, (1, *hw, 2)), r.uniform(-1, 1, (*window, 2, 2)), r.uniform(-1, 1, 2)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, strides=strides, padding="same"), x, w, b)


SMALL_POOL = dict(max_batch=2, max_side=6, max_channels=2, max_window=3, max_stride=3)

# Pooling with 'same' and strides 2 / 3 on odd and even inputs (pads worked out as above).
SAME_STRIDED_POOL = [((4, 5), (2, 2), (2, 2)),   # h 4: (0, 0); w 5: (0, 1)
                     ((5, 5), (3, 3), (2, 2)),   # (1, 1) both ways
                     ((7, 8), (3, 3), (3, 3)),   # h 7, s 3: (1, 1); w 8, s 3: (0, 1)
                     ((6, 4), (4, 3), (3, 2))]   # h 6, k 4, s 3: (0, 1); w 4, k 3, s 2: (0, 1)


def _grid(shape, seed):
    """What ``distinct_values`` draws: a shuffled grid with spacing 0.01 (for @example)."""
    size = int(np.prod(shape))
    return np.random.default_rng(seed).permutation((np.arange(size) - size / 2) * 0.01).reshape(shape)


def _pool_examples(cases, distinct):
    def add(test):
        for hw, window, strides in cases:
            cfg = WindowConfig(n=1, h=hw[0], w=hw[1], c_in=2, window=window, strides=strides,
                               padding="same")
            x = _grid(cfg.input_shape, 0) if distinct else _uniform(0, cfg.input_shape)
            test = example(case=(cfg, x))(test)
        return test
    return add


def _with_input(make):
    return pool_configs(**SMALL_POOL).flatmap(lambda cfg: make(cfg.input_shape).map(lambda x: (cfg, x)))


@_pool_examples(SAME_STRIDED_POOL, distinct=True)
@given(case=_with_input(distinct_values))
def test_max_pool2d(tier, case):
    """distinct_values inputs (spacing 0.01): every window has a unique maximum that no
    step of 1e-6 can change, so the finite differences see the same winner."""
    cfg, x = case
    gradcheck(lambda t: F.max_pool2d(t, cfg.window, cfg.strides, cfg.padding), x)


@_pool_examples(SAME_STRIDED_POOL, distinct=False)
@given(case=_with_input(arrays))
def test_avg_pool2d(tier, case):
    """Uniform inputs in [-2, 2]: average pooling is linear."""
    cfg, x = case
    gradcheck(lambda t: F.avg_pool2d(t, cfg.window, cfg.strides, cfg.padding), x)


@given(st.data(), shapes(min_dims=1, max_dims=3, max_side=4), st.sampled_from([0.1, 0.5, 0.8]),
       seeds())
def test_dropout(tier, data, shape, rate, k):
    """Uniform inputs; each call gets ``np.random.default_rng(k)`` afresh, so every forward
    pass of the finite difference drops the same elements. Dropout is linear given its mask."""
    x = data.draw(arrays(shape))
    gradcheck(lambda t: F.dropout(t, rate, training=True, rng=np.random.default_rng(k)), x)


# ----- normalisation --------------------------------------------------------------------------
@given(st.data(), shapes(min_dims=2, max_dims=4, max_side=3).filter(lambda s: np.prod(s[:-1]) >= 2))
def test_batch_norm_training(tier, data, shape):
    """x, gamma, beta uniform; at least 2 values per channel (so the batch variance is not
    0). Fresh moving statistics on every call: training mode updates them in place, but
    does not read them."""
    c = shape[-1]
    x = data.draw(arrays(shape))
    gamma, beta = data.draw(arrays((c,), low=0.5, high=2.0)), data.draw(arrays((c,)))
    gradcheck(lambda x, g, b: F.batch_norm(x, g, b, np.zeros(c), np.ones(c), training=True),
              x, gamma, beta)


@given(st.data(), shapes(min_dims=1, max_dims=4, max_side=3))
def test_batch_norm_inference(tier, data, shape):
    """x, gamma, beta uniform, moving variance in [0.5, 2]; inference mode is affine (the
    tier's ``batch_norm_inference`` forward, gradients in ops.normalization)."""
    c = shape[-1]
    x, gamma, beta = data.draw(arrays(shape)), data.draw(arrays((c,))), data.draw(arrays((c,)))
    mean, var = data.draw(arrays((c,))), data.draw(arrays((c,), low=0.5, high=2.0))
    gradcheck(lambda x, g, b: F.batch_norm(x, g, b, mean, var, training=False), x, gamma, beta)


# ----- losses ---------------------------------------------------------------------------------
batch_and_classes = st.tuples(st.integers(1, 4), st.integers(2, 5))


@given(batch_and_classes, seeds())
def test_softmax_cross_entropy(tier, nk, seed):
    """Logits in [-3, 3]; integer labels, one-hot rows, and soft rows in [0, 1] that need
    not sum to 1 (the gradient's ``softmax * sum(y)`` term is then not just ``softmax``)."""
    (n, k), r = nk, np.random.default_rng(seed)
    logits, labels = r.uniform(-3, 3, (n, k)), r.integers(0, k, n)
    soft = r.uniform(0, 1, (n, k))
    gradcheck(lambda z: F.softmax_cross_entropy(z, labels), logits)
    gradcheck(lambda z: F.softmax_cross_entropy(z, one_hot(labels, k)), logits)
    gradcheck(lambda z: F.softmax_cross_entropy(z, soft), logits)


@given(batch_and_classes, seeds())
def test_categorical_crossentropy(tier, nk, seed):
    """From probabilities in [0.05, 0.95] (unnormalised; after normalisation every value
    is in [0.05/(0.05 + 0.95(k-1)), 0.95/(0.95 + 0.05)] so the 1e-7 clip is inactive),
    and from logits in [-3, 3]."""
    (n, k), r = nk, np.random.default_rng(seed)
    y = one_hot(r.integers(0, k, n), k)
    gradcheck(lambda p: F.categorical_crossentropy(y, p), r.uniform(0.05, 0.95, (n, k)))
    gradcheck(lambda z: F.categorical_crossentropy(y, z, from_logits=True), r.uniform(-3, 3, (n, k)))


@given(batch_and_classes, seeds(), st.booleans())
def test_sparse_categorical_crossentropy(tier, nk, seed, column_labels):
    """Probabilities in [0.05, 0.95] (clip inactive) and logits in [-3, 3]; labels shaped
    (n,) or (n, 1)."""
    (n, k), r = nk, np.random.default_rng(seed)
    labels = r.integers(0, k, (n, 1) if column_labels else n)
    gradcheck(lambda p: F.sparse_categorical_crossentropy(labels, p), r.uniform(0.05, 0.95, (n, k)))
    gradcheck(lambda z: F.sparse_categorical_crossentropy(labels, z, from_logits=True),
              r.uniform(-3, 3, (n, k)))


@given(st.data(), shapes(min_dims=1, max_dims=3, max_side=4))
def test_binary_crossentropy(tier, data, shape):
    """Targets in [0, 1]; probabilities in [0.05, 0.95] (clip inactive); logits with
    |z| >= 0.05 (away_from_zero: the max(z, 0) and |z| kinks are never within a step)."""
    y = data.draw(arrays(shape, low=0.0, high=1.0))
    gradcheck(lambda p: F.binary_crossentropy(y, p), data.draw(probabilities(shape)))
    gradcheck(lambda z: F.binary_crossentropy(y, z, from_logits=True),
              data.draw(away_from_zero(shape, high=4.0)))


@given(st.data(), shapes(min_dims=1, max_dims=3, max_side=4))
def test_mean_squared_and_absolute_error(data, shape):
    """Targets uniform; for the absolute error y_pred = y_true + d with |d| >= 0.05
    (away_from_zero), so |y_pred - y_true| has no kink within a step."""
    y = data.draw(arrays(shape))
    gradcheck(lambda p: F.mean_squared_error(y, p), data.draw(arrays(shape)))
    gradcheck(lambda p: F.mean_absolute_error(y, p), y + data.draw(away_from_zero(shape)))


def test_conv2d_skips_the_input_gradient_when_no_one_needs_it(tier):
    """The first layer's input needs no gradient: the node records that, the kernel skips
    dx, and the weight gradients are the same as when dx is computed."""
    r = np.random.default_rng(7)
    x, w, b = r.normal(size=(2, 7, 6, 3)), r.normal(size=(3, 3, 3, 4)), r.normal(size=4)
    grads = []
    for x_needs_grad in (True, False):
        leaves = [Tensor(x, requires_grad=x_needs_grad), Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)]
        y = F.conv2d(*leaves, strides=2, padding="same")
        assert y._ctx.needs_input_grad == (x_needs_grad, True, True)
        y.backward(np.ones_like(y.data))
        assert (leaves[0].grad is None) == (not x_needs_grad)
        grads.append((leaves[1].grad, leaves[2].grad))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


# ----- the merge layers' ops: maximum, minimum, concatenate ----------------------------------
@pytest.mark.parametrize("op", [F.maximum, F.minimum])
@given(shapes=broadcast_pairs(max_dims=3, max_side=3), seed=seeds())
def test_maximum_and_minimum_with_broadcasting(op, shapes, seed):
    """x in [-2, 2]; y = x's broadcast partner at least 0.05 from every x it meets (drawn
    from the grid of 0.1-spaced values offset by 0.05, x from the grid points): no tie
    within a step, so each output picks one input smoothly."""
    r = np.random.default_rng(seed)
    x = r.integers(-20, 21, shapes[0]) / 10.0
    y = r.integers(-20, 20, shapes[1]) / 10.0 + 0.05
    gradcheck(op, x, y)


def test_maximum_and_minimum_send_a_tie_to_the_first_input():
    x, y = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([1.0, 0.0]), requires_grad=True)
    F.sum(F.maximum(x, y)).backward()
    np.testing.assert_array_equal(x.grad, [1, 1])
    np.testing.assert_array_equal(y.grad, [0, 0])
    x.grad = y.grad = None
    F.sum(F.minimum(x, y)).backward()
    np.testing.assert_array_equal(x.grad, [1, 0])
    np.testing.assert_array_equal(y.grad, [0, 1])


@given(shape_axis=shape_and_axis(max_dims=3, max_side=3), count=st.integers(1, 3),
       extra=st.lists(st.integers(1, 3), min_size=3, max_size=3), seed=seeds())
def test_concatenate(shape_axis, count, extra, seed):
    """Inputs uniform in [-2, 2] that agree outside ``axis`` and differ along it; smooth."""
    shape, axis, _ = shape_axis
    axis = 0 if not isinstance(axis, int) else axis
    r = np.random.default_rng(seed)
    parts = []
    for i in range(count):
        part = list(shape)
        part[axis] = extra[i]
        parts.append(r.uniform(-2, 2, part))
    gradcheck(lambda *xs: F.concatenate(list(xs), axis=axis), *parts)


def test_concatenate_refuses_shapes_that_differ_outside_its_axis():
    with pytest.raises(ValueError, match=r"differ outside axis 1"):
        F.concatenate([np.zeros((2, 3)), np.zeros((3, 3))], axis=1)
    with pytest.raises(ValueError, match="one rank"):
        F.concatenate([np.zeros((2, 3)), np.zeros((2, 3, 1))], axis=-1)
