"""Mistakes are reported where they are made, in the user's terms: every message names the
op and the offending shapes or values. One asserted message per mistake."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tinycnn import Tensor
from tinycnn import functional as F


def raises(error, message):
    """pytest.raises matching the WHOLE message literally (not a regex fragment)."""
    return pytest.raises(error, match="^" + re.escape(message) + "$")


def test_matmul_shapes_not_aligned():
    with raises(ValueError, "matmul: shapes (2, 3) and (4, 5) are not aligned: the last axis "
                            "of the first (3) must equal the second-to-last axis of the second (4)"):
        F.matmul(np.ones((2, 3)), np.ones((4, 5)))


def test_matmul_needs_two_axes():
    with raises(ValueError, "matmul: both operands need at least 2 axes, got shapes (3,) and (3, 5)"):
        Tensor(np.ones(3)) @ Tensor(np.ones((3, 5)))


def test_matmul_stacked_axes_must_broadcast():
    with raises(ValueError, "matmul: the stacked axes of (2, 2, 3) and (3, 3, 5) do not broadcast"):
        F.matmul(np.ones((2, 2, 3)), np.ones((3, 3, 5)))


def test_conv2d_channel_mismatch():
    with raises(ValueError, "conv2d: input has 3 channels (shape (1, 5, 5, 3)) but the kernel "
                            "expects 2 (kernel shape (3, 3, 2, 4))"):
        F.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 4)))


def test_conv2d_kernel_larger_than_valid_input():
    with raises(ValueError, "conv2d: window (5, 5) is larger than the input's spatial size (3, 4) "
                            "with padding 'valid'; use a smaller window or padding='same'"):
        F.conv2d(np.ones((1, 3, 4, 1)), np.ones((5, 5, 1, 1)))
    # the same kernel with 'same' padding is fine
    assert F.conv2d(np.ones((1, 3, 4, 1)), np.ones((5, 5, 1, 1)), padding="same").shape == (1, 3, 4, 1)


def test_conv2d_input_and_kernel_must_be_4d():
    with raises(ValueError, "conv2d: input must be 4-D (batch, height, width, channels), got shape (5, 5, 1)"):
        F.conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1, 2)))
    with raises(ValueError, "conv2d: kernel must be 4-D (kh, kw, in_channels, out_channels), got shape (3, 3, 1)"):
        F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1)))


def test_conv2d_bias_shape():
    with raises(ValueError, "conv2d: bias must have shape (2,), got (3,)"):
        F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 2)), np.ones(3))


@pytest.mark.parametrize("strides, shown", [(0, "(0, 0)"), ((1, -2), "(1, -2)"), ((-1, 0), "(-1, 0)")])
def test_conv2d_zero_or_negative_strides(strides, shown):
    with raises(ValueError, f"conv2d: strides must be at least 1, got {shown}"):
        F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), strides=strides)


def test_pool_zero_strides():
    with raises(ValueError, "max_pool2d: strides must be at least 1, got (0, 0)"):
        F.max_pool2d(np.ones((1, 5, 5, 1)), 2, strides=0)


@pytest.mark.parametrize("value, shown", [(1.5, "1.5"), ((2, 2, 2), "(2, 2, 2)"), (True, "True")])
def test_pool_size_must_be_ints(value, shown):
    with raises(ValueError, f"avg_pool2d: window size must be an int or a pair of ints, got {shown}"):
        F.avg_pool2d(np.ones((1, 5, 5, 1)), value)


def test_numpy_integers_are_valid_sizes():
    """A stride or window that is a NumPy integer (e.g. computed with NumPy) is accepted."""
    x = np.ones((1, 6, 6, 1))
    # 'valid', k 3, s 2 on 6: floor((6 - 3) / 2) + 1 = 2
    assert F.conv2d(x, np.ones((3, 3, 1, 1)), strides=np.int64(2)).shape == (1, 2, 2, 1)
    assert F.max_pool2d(x, np.array([3, 2])).shape == (1, 2, 3, 1)


def test_unknown_padding():
    with raises(ValueError, "conv2d: unknown padding 'full'; use 'valid' or 'same'"):
        F.conv2d(np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), padding="full")
    with raises(ValueError, "avg_pool2d: unknown padding 'causal'; use 'valid' or 'same'"):
        F.avg_pool2d(np.ones((1, 5, 5, 1)), padding="causal")
    # Keras also accepts the upper-case spelling
    assert F.max_pool2d(np.ones((1, 5, 5, 1)), padding="SAME").shape == (1, 3, 3, 1)


def test_string_array_input():
    with raises(TypeError, "relu: cannot use an array of dtype <U1 (shape (2,)); tinycnn computes "
                           "with float32 or float64 numbers"):
        F.relu(np.array(["a", "b"]))


def test_object_array_input():
    with raises(TypeError, "conv2d: cannot use an array of dtype object (shape (4,)); tinycnn "
                           "computes with float32 or float64 numbers"):
        F.conv2d(np.array([None] * 4, dtype=object), np.ones((1, 1, 1, 1)))


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
def test_pool_on_a_3d_input(pool):
    name = pool.__name__
    with raises(ValueError, f"{name}: input must be 4-D (batch, height, width, channels), got shape (5, 5, 1)"):
        pool(np.ones((5, 5, 1)))


def test_broadcast_failure_in_add():
    with raises(ValueError, "add: shapes (2, 3) and (4,) cannot be broadcast together"):
        F.add(np.ones((2, 3)), np.ones(4))
    with raises(ValueError, "mul: shapes (2, 3) and (2,) cannot be broadcast together"):
        Tensor(np.ones((2, 3))) * Tensor(np.ones(2))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_bad_dropout_rate(rate):
    with raises(ValueError, f"dropout: rate must be in [0, 1), got {rate}"):
        F.dropout(np.ones(3), rate)


def test_dropout_rate_zero_and_inference_are_the_identity():
    x = Tensor(np.arange(4.0))
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x


@pytest.mark.parametrize("labels, found", [([0, 3], "0..3"), ([-1, 0], "-1..0")])
def test_softmax_cross_entropy_label_out_of_range(labels, found):
    with raises(ValueError, f"softmax_cross_entropy: labels must lie in [0, 2] for 3 classes, found {found}"):
        F.softmax_cross_entropy(np.ones((2, 3)), np.array(labels))


def test_softmax_cross_entropy_fractional_labels():
    with raises(ValueError, "softmax_cross_entropy: labels must be whole numbers (class indices)"):
        F.softmax_cross_entropy(np.ones((2, 3)), np.array([0.5, 1.0]))


def test_loss_target_shape_mismatch():
    with raises(ValueError, "mean_squared_error: targets have shape (2, 4) but predictions have "
                            "shape (2, 3); they must match (one-hot targets: use "
                            "tinycnn.utils.to_categorical, or the sparse loss for integer labels)"):
        F.mean_squared_error(np.ones((2, 4)), np.ones((2, 3)))


def test_reduction_axis_out_of_range():
    with raises(ValueError, "sum: axis 2 is out of range for a tensor of shape (2, 3)"):
        F.sum(np.ones((2, 3)), axis=2)


def test_reshape_size_mismatch():
    with raises(ValueError, "reshape: cannot reshape a tensor of shape (2, 3) (6 elements) into shape (4, 2)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


def test_clip_bounds_in_wrong_order():
    with raises(ValueError, "clip: lower bound 1 is above upper bound 0"):
        F.clip(np.ones(2), 1, 0)


def test_cast_to_integer_is_refused():
    with raises(TypeError, "cast: tensors hold floating-point numbers; cannot cast to int32"):
        F.cast(np.ones(2), np.int32)


def test_batch_norm_parameter_shape():
    with raises(ValueError, "batch_norm: gamma must have shape (3,) for an input of shape (2, 3), got (2,)"):
        F.batch_norm(np.ones((2, 3)), np.ones(2), np.zeros(3), np.zeros(3), np.ones(3), training=True)


@pytest.mark.parametrize("op", [F.relu, F.exp, F.max_pool2d, F.flatten,
                                lambda x: F.conv2d(x, np.full((1, 1, 1, 1), 2, dtype=np.int32))],
                         ids=["relu", "exp", "max_pool2d", "flatten", "conv2d"])
def test_integer_input_is_converted_to_float32(op):
    x = np.arange(9, dtype=np.int64).reshape(1, 3, 3, 1)
    y = op(x)
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y.data))
    np.testing.assert_array_equal(F.relu(x).data, x.astype(np.float32))
    np.testing.assert_array_equal(F.conv2d(x, np.full((1, 1, 1, 1), 2, dtype=np.int32)).data,
                                  2 * x.astype(np.float32))
