"""Output sizes and paddings of sliding windows, against the formulas of
KERAS_SEMANTICS.md (written out again here, independently of kernels/geometry.py):

* 'valid': out = floor((in - k) / s) + 1, no padding;
* 'same':  out = ceil(in / s), total = max((out - 1) * s + k - in, 0),
  before = total // 2, after = total - before (the odd pixel at the bottom/right).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinycnn import functional as F
from tinycnn.kernels.geometry import plan_2d, window_geometry

sizes, windows_, strides_ = st.integers(1, 64), st.integers(1, 7), st.integers(1, 4)


def keras_same(n, k, s):
    out = math.ceil(n / s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


@given(n=sizes, k=windows_, s=strides_)
def test_valid_output_size(n, k, s):
    if k > n:  # no window fits: plan_2d refuses (tests/test_errors.py checks the message)
        with pytest.raises(ValueError, match="larger than the input"):
            plan_2d("conv2d", (n, n), (k, k), (s, s), "valid")
    else:
        assert window_geometry(n, k, s, "valid") == (math.floor((n - k) / s) + 1, 0, 0)


@given(n=sizes, k=windows_, s=strides_)
def test_same_output_size_and_padding(n, k, s):
    out, before, after = window_geometry(n, k, s, "same")
    assert (out, before, after) == keras_same(n, k, s)
    assert after - before in (0, 1)                 # the odd pixel goes after
    assert (out - 1) * s + k <= n + before + after  # the last window fits the padded input
    assert (out - 1) * s < n + before               # and still starts on a real cell


@pytest.mark.parametrize("n, k, s, pads", [(32, 3, 2, (0, 1)), (31, 3, 2, (1, 1)), (28, 5, 2, (1, 2))])
def test_keras_semantics_examples(n, k, s, pads):
    out, before, after = window_geometry(n, k, s, "same")
    assert (before, after) == pads
    assert out == -(-n // s)


@given(h=st.integers(1, 12), w=st.integers(1, 12), kh=windows_, kw=windows_, sh=strides_,
       sw=strides_, padding=st.sampled_from(["valid", "same"]))
def test_plan_2d_combines_both_axes(h, w, kh, kw, sh, sw, padding):
    if padding == "valid" and (kh > h or kw > w):
        with pytest.raises(ValueError):
            plan_2d("op", (h, w), (kh, kw), (sh, sw), padding)
        return
    window, strides, out, pads = plan_2d("op", (h, w), (kh, kw), (sh, sw), padding.upper())
    assert window == (kh, kw) and strides == (sh, sw)
    if padding == "same":
        (oh, t, b), (ow, l, r) = keras_same(h, kh, sh), keras_same(w, kw, sw)
        assert out == (oh, ow) and pads == ((t, b), (l, r))
    else:
        assert out == ((h - kh) // sh + 1, (w - kw) // sw + 1) and pads == ((0, 0), (0, 0))


@given(h=st.integers(1, 9), w=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]))
def test_ops_produce_the_planned_shapes(h, w, k, s, padding):
    """conv2d, max_pool2d and avg_pool2d outputs have the shapes of the formulas."""
    if padding == "valid" and k > min(h, w):
        return
    if padding == "same":
        oh, ow = keras_same(h, k, s)[0], keras_same(w, k, s)[0]
    else:
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
    x = np.zeros((2, h, w, 3))
    assert F.conv2d(x, np.zeros((k, k, 3, 5)), strides=s, padding=padding).shape == (2, oh, ow, 5)
    assert F.max_pool2d(x, k, s, padding).shape == (2, oh, ow, 3)
    assert F.avg_pool2d(x, k, s, padding).shape == (2, oh, ow, 3)


def test_pool_strides_default_to_the_pool_size():
    x = np.zeros((1, 8, 6, 1))
    assert F.max_pool2d(x, (2, 3)).shape == (1, 4, 2, 1)
    assert F.avg_pool2d(x, 4, padding="same").shape == (1, 2, 2, 1)
