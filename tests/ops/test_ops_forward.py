"""Forward results of convolution and pooling.

* Every kernel tier agrees with the ``reference`` tier (plain loops) on random
  configurations, in float64, to 1e-12: forward outputs and, through backward, gradients.
* Tiny cases are checked against values worked out independently in this file, by hand or
  with explicit loops over an explicitly padded array (no tinycnn code involved).
* The Keras rules: the max-pool gradient goes to ONE element of a tie (the first in
  row-major order), 'same' max-pooling never lets a padded cell win, 'same' average
  pooling does not count padded cells, and relu's gradient at exactly 0 is 0.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinycnn
from tinycnn import Tensor
from tinycnn import functional as F

from strategies import arrays, conv_configs, pool_configs, seeds

TIGHT = dict(rtol=1e-12, atol=1e-12)


def _run(tier, fn, *arrays_):
    """fn's output and the gradients of sum(output * upstream) on ``tier``."""
    tinycnn.set_backend(tier)
    leaves = [Tensor(a, requires_grad=True) for a in arrays_]
    out = fn(*leaves)
    upstream = np.random.default_rng(0).normal(size=out.shape)
    out.backward(upstream)
    return out.data, [t.grad for t in leaves]


def _agree(tier, fn, *arrays_):
    """Assert ``tier`` gives the reference tier's output and gradients, in float64."""
    ref_out, ref_grads = _run("reference", fn, *arrays_)
    out, grads = _run(tier, fn, *arrays_)
    assert out.dtype == np.float64 and out.shape == ref_out.shape
    np.testing.assert_allclose(out, ref_out, **TIGHT)
    for g, rg in zip(grads, ref_grads):
        assert g.dtype == np.float64
        np.testing.assert_allclose(g, rg, **TIGHT)


# ----- every tier against the reference tier -------------------------------------------------
@settings(max_examples=20)
@given(cfg=conv_configs(max_side=8), seed=seeds())
def test_conv2d_tiers_agree_with_reference(tier, cfg, seed):
    r = np.random.default_rng(seed)
    x, w, b = r.normal(size=cfg.input_shape), r.normal(size=cfg.kernel_shape), r.normal(size=cfg.c_out)
    _agree(tier, lambda x, w, b: F.conv2d(x, w, b, cfg.strides, cfg.padding), x, w, b)
    _agree(tier, lambda x, w: F.conv2d(x, w, None, cfg.strides, cfg.padding), x, w)


@settings(max_examples=20)
@given(cfg=pool_configs(max_side=8), seed=seeds())
def test_pooling_tiers_agree_with_reference(tier, cfg, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=cfg.input_shape)
    _agree(tier, lambda t: F.max_pool2d(t, cfg.window, cfg.strides, cfg.padding), x)
    _agree(tier, lambda t: F.avg_pool2d(t, cfg.window, cfg.strides, cfg.padding), x)
    # with many ties (values from {0, 1, 2}) the tiers must still pick the same winner
    _agree(tier, lambda t: F.max_pool2d(t, cfg.window, cfg.strides, cfg.padding),
           r.integers(0, 3, cfg.input_shape).astype(np.float64))


@given(n=st.integers(1, 5), k=st.integers(2, 6), seed=seeds())
def test_relu_and_softmax_cross_entropy_tiers_agree_with_reference(tier, n, k, seed):
    r = np.random.default_rng(seed)
    z, labels, soft = r.normal(size=(n, k)) * 3, r.integers(0, k, n), r.uniform(0, 1, (n, k))
    _agree(tier, F.relu, z)
    _agree(tier, lambda t: F.softmax_cross_entropy(t, labels), z)
    _agree(tier, lambda t: F.softmax_cross_entropy(t, soft), z)


@settings(max_examples=10)
@given(seed=seeds(), padding=st.sampled_from(["valid", "same"]))
def test_a_small_network_agrees_with_reference(tier, seed, padding):
    """Two convolutions in a row (a tier that keeps scratch buffers between forward and
    backward must not let the second overwrite what the first needs), on an input that is
    not C-contiguous (a transposed view), then relu, both poolings and the fused loss."""
    r = np.random.default_rng(seed)
    x = r.normal(size=(2, 7, 6, 3)).transpose(0, 2, 1, 3)      # (2, 6, 7, 3), a strided view
    w1, b1, w2 = r.normal(size=(3, 3, 3, 4)), r.normal(size=4), r.normal(size=(2, 2, 4, 3))
    labels = r.integers(0, 3, 2)

    def net(x, w1, b1, w2):
        h = F.relu(F.conv2d(x, w1, b1, strides=1, padding=padding))
        h = F.conv2d(h, w2, strides=2, padding=padding)
        h = F.avg_pool2d(F.max_pool2d(h, 2, 1, "same"), 2, padding="same")
        return F.softmax_cross_entropy(F.mean(h, axis=(1, 2)), labels)

    _agree(tier, net, x, w1, b1, w2)


def test_float32_stays_float32(tier):
    r = np.random.default_rng(0)
    x = Tensor(r.normal(size=(1, 5, 5, 2)).astype(np.float32), requires_grad=True)
    w = Tensor(r.normal(size=(3, 3, 2, 3)).astype(np.float32), requires_grad=True)
    y = F.avg_pool2d(F.max_pool2d(F.conv2d(x, w, padding="same"), 2, 1, "same"), 2, 1, "same")
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# ----- tiny cases computed independently ------------------------------------------------------
def test_conv2d_valid_3x3_by_hand(tier):
    """x = [[1 2 3] [4 5 6] [7 8 9]], kernel [[1 0] [0 -1]] (cross-correlation, no flip):
    y[i, j] = x[i, j] - x[i+1, j+1] = -4 everywhere; with bias 0.5 -> -3.5."""
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1)
    y = F.conv2d(x, w, np.array([0.5])).data
    np.testing.assert_array_equal(y, np.full((1, 2, 2, 1), -3.5))


def test_conv2d_is_not_flipped(tier):
    """An asymmetric kernel that picks the top-left neighbour: y[i, j] = x[i, j] for
    'valid' 2x2 windows with weight 1 at (0, 0) only. A flipped kernel would give x[i+1, j+1]."""
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    w = np.zeros((2, 2, 1, 1))
    w[0, 0] = 1.0
    np.testing.assert_array_equal(F.conv2d(x, w).data[0, :, :, 0], x[0, :3, :3, 0])


def test_conv2d_same_stride2_even_input_by_hand(tier):
    """x = arange(16) as 4x4, kernel of ones 3x3, 'same', stride 2: out 2x2, pads (0, 1)
    on each axis (the odd pixel at the bottom/right), so the windows are rows/cols
    {0,1,2}, {2,3,pad}:
      y[0,0] = 0+1+2+4+5+6+8+9+10 = 45      y[0,1] = 2+3+6+7+10+11 = 39
      y[1,0] = 8+9+10+12+13+14 = 66          y[1,1] = 10+11+14+15 = 50"""
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    y = F.conv2d(x, np.ones((3, 3, 1, 1)), strides=2, padding="same").data
    np.testing.assert_array_equal(y[0, :, :, 0], [[45.0, 39.0], [66.0, 50.0]])


def _loop_conv(x, w, b, strides, pads):
    """Direct convolution with explicit loops over an explicitly zero-padded input."""
    (top, bottom), (left, right) = pads
    xp = np.zeros((x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]))
    xp[:, top:top + x.shape[1], left:left + x.shape[2], :] = x
    kh, kw, cin, cout = w.shape
    oh, ow = (xp.shape[1] - kh) // strides[0] + 1, (xp.shape[2] - kw) // strides[1] + 1
    y = np.zeros((x.shape[0], oh, ow, cout))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for f in range(cout):
                    total = b[f]
                    for a in range(kh):
                        for c in range(kw):
                            for ch in range(cin):
                                total += xp[n, i * strides[0] + a, j * strides[1] + c, ch] * w[a, c, ch, f]
                    y[n, i, j, f] = total
    return y


@pytest.mark.parametrize("hw, window, strides, padding, pads", [
    ((5, 5), (3, 3), (1, 1), "valid", ((0, 0), (0, 0))),
    ((6, 5), (2, 3), (2, 1), "valid", ((0, 0), (0, 0))),
    ((5, 5), (3, 3), (1, 1), "same", ((1, 1), (1, 1))),
    ((6, 7), (3, 3), (2, 2), "same", ((0, 1), (1, 1))),   # h 6: out 3, total 1; w 7: out 4, total 2
    ((7, 8), (4, 3), (3, 3), "same", ((1, 2), (0, 1))),   # h 7: out 3, total 3; w 8: out 3, total 1
])
def test_conv2d_matches_explicit_loops(tier, hw, window, strides, padding, pads):
    """The pads in each case are worked out by hand from Keras's 'same' rule."""
    r = np.random.default_rng(3)
    x, w, b = r.normal(size=(2, *hw, 2)), r.normal(size=(*window, 2, 3)), r.normal(size=3)
    y = F.conv2d(x, w, b, strides, padding).data
    np.testing.assert_allclose(y, _loop_conv(x, w, b, strides, pads), rtol=1e-12, atol=1e-12)


def _loop_pool(x, window, strides, pads, reduce):
    """Pooling with explicit loops; padded cells are NaN and left out of each window."""
    (top, bottom), (left, right) = pads
    xp = np.full((x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]), np.nan)
    xp[:, top:top + x.shape[1], left:left + x.shape[2], :] = x
    oh, ow = (xp.shape[1] - window[0]) // strides[0] + 1, (xp.shape[2] - window[1]) // strides[1] + 1
    y = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for n in range(x.shape[0]):
        for i in range(oh):
            for j in range(ow):
                for ch in range(x.shape[3]):
                    cells = [xp[n, i * strides[0] + a, j * strides[1] + c, ch]
                             for a in range(window[0]) for c in range(window[1])]
                    y[n, i, j, ch] = reduce([v for v in cells if not np.isnan(v)])
    return y


@pytest.mark.parametrize("hw, window, strides, padding, pads", [
    ((4, 6), (2, 2), (2, 2), "valid", ((0, 0), (0, 0))),
    ((5, 7), (3, 2), (2, 3), "valid", ((0, 0), (0, 0))),
    ((5, 5), (2, 2), (2, 2), "same", ((0, 1), (0, 1))),   # out 3, total 1
    ((7, 8), (3, 3), (3, 3), "same", ((1, 1), (0, 1))),   # h: out 3, total 2; w: out 3, total 1
    ((6, 4), (3, 2), (1, 3), "same", ((1, 1), (0, 1))),   # h: out 6, total 2; w: out 2, total 1
])
def test_pooling_matches_explicit_loops(tier, hw, window, strides, padding, pads):
    """The pads in each case are worked out by hand from Keras's 'same' rule."""
    x = np.random.default_rng(4).normal(size=(2, *hw, 2))
    np.testing.assert_allclose(F.max_pool2d(x, window, strides, padding).data,
                               _loop_pool(x, window, strides, pads, max), **TIGHT)
    np.testing.assert_allclose(F.avg_pool2d(x, window, strides, padding).data,
                               _loop_pool(x, window, strides, pads, np.mean), **TIGHT)


def test_max_and_avg_pool_2x2_by_hand(tier):
    x = np.array([[1.0, 5.0, 2.0, 0.0],
                  [3.0, 4.0, 8.0, 1.0],
                  [0.0, 2.0, 6.0, 7.0],
                  [9.0, 1.0, 3.0, 5.0]]).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(F.max_pool2d(x).data[0, :, :, 0], [[5.0, 8.0], [9.0, 7.0]])
    np.testing.assert_array_equal(F.avg_pool2d(x).data[0, :, :, 0], [[3.25, 2.75], [3.0, 5.25]])
    # gradient of the max: 1 at each window's winner
    t = Tensor(x, requires_grad=True)
    F.max_pool2d(t).sum().backward()
    expected = np.zeros((4, 4))
    expected[0, 1] = expected[1, 2] = expected[3, 0] = expected[2, 3] = 1.0
    np.testing.assert_array_equal(t.grad[0, :, :, 0], expected)


# ----- Keras's rules ---------------------------------------------------------------------------
def test_max_pool_tie_gives_the_whole_gradient_to_the_first_in_row_major_order(tier):
    """Window 1 is all ties (1, 1 / 1, 1): the first cell (0, 0) gets everything. Window 2
    ties 3 at (0, 3) and (1, 2): the first in row-major order is (0, 3). Never split, never
    duplicated: the gradient still sums to the upstream value per window."""
    x = np.array([[1.0, 1.0, 2.0, 3.0],
                  [1.0, 1.0, 3.0, 0.0]]).reshape(1, 2, 4, 1)
    t = Tensor(x, requires_grad=True)
    y = F.max_pool2d(t, (2, 2))
    np.testing.assert_array_equal(y.data[0, :, :, 0], [[1.0, 3.0]])
    y.backward(np.array([10.0, 20.0]).reshape(1, 1, 2, 1))
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[10.0, 0.0, 0.0, 20.0],
                                                        [0.0, 0.0, 0.0, 0.0]])


def test_max_pool_tie_in_overlapping_windows(tier):
    """Constant input, 2x2 windows with stride 1 on 3x3: each window gives its gradient
    to its own top-left cell, so cells (0..1, 0..1) get 1 each and nothing is split."""
    t = Tensor(np.ones((1, 3, 3, 1)), requires_grad=True)
    F.max_pool2d(t, 2, strides=1).sum().backward()
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_same_max_pool_never_lets_padding_win(tier):
    """All-negative 3x3 input, pool 2, stride 2, 'same': out 2x2, pads (0, 1). The bottom
    and right windows hang over the padding; a zero-padded max would return 0 there.
    Windows: {x00,x01,x10,x11}, {x02,x12}, {x20,x21}, {x22}."""
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)   # -1 .. -9
    t = Tensor(x, requires_grad=True)
    y = F.max_pool2d(t, 2, padding="same")
    np.testing.assert_array_equal(y.data[0, :, :, 0], [[-1.0, -3.0], [-7.0, -9.0]])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[1, 0, 1], [0, 0, 0], [1, 0, 1]])


def test_same_avg_pool_does_not_count_padding(tier):
    """3x3 input, pool 2, stride 2, 'same' (pads (0, 1)): the windows hold 4, 2, 2 and 1
    real cells, so the averages are over those counts only (a constant input stays constant),
    and each cell's gradient is 1 / (its window's count)."""
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(F.avg_pool2d(np.ones((1, 3, 3, 1)), 2, padding="same").data,
                                  np.ones((1, 2, 2, 1)))
    t = Tensor(x, requires_grad=True)
    y = F.avg_pool2d(t, 2, padding="same")
    np.testing.assert_array_equal(y.data[0, :, :, 0], [[(1 + 2 + 4 + 5) / 4, (3 + 6) / 2],
                                                       [(7 + 8) / 2, 9.0]])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad[0, :, :, 0], [[1 / 4, 1 / 4, 1 / 2],
                                                       [1 / 4, 1 / 4, 1 / 2],
                                                       [1 / 2, 1 / 2, 1.0]])


def test_relu_gradient_at_exactly_zero_is_zero(tier):
    t = Tensor(np.array([-1.0, 0.0, 2.0, -0.0]), requires_grad=True)
    y = F.relu(t)
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 2.0, 0.0])
    y.sum().backward()
    np.testing.assert_array_equal(t.grad, [0.0, 0.0, 1.0, 0.0])


@given(x=arrays((3, 4)))
def test_relu_forward_is_max_with_zero(tier, x):
    np.testing.assert_array_equal(F.relu(x).data, np.where(x > 0, x, 0.0))
