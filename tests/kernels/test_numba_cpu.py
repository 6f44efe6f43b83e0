"""The numba tier keeps the kernel contract: on random shapes, strides and paddings it
gives the numpy and reference tiers' results (to float rounding), in the input's dtype."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinycnn
from tinycnn.kernels.geometry import plan_2d
from tinycnn.kernels.numpy_tier import NumpyBackend
from tinycnn.kernels.reference import ReferenceBackend
from tinycnn.testing.strategies import conv_configs, distinct_values, pool_configs

from strategies import conv_case

pytest.importorskip("numba")
from tinycnn.kernels.numba_cpu import conv as numba_conv, loops  # noqa: E402
from tinycnn.kernels.numba_cpu import NumbaBackend  # noqa: E402

NUMBA, NUMPY, REFERENCE = NumbaBackend(), NumpyBackend(), ReferenceBackend()
DTYPES = [np.float32, np.float64]
# float32 sums are taken in different orders by the tiers; float64 agrees to rounding.
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}


def assert_same(actual, expected, dtype):
    assert actual.dtype == dtype, f"expected {np.dtype(dtype)}, got {actual.dtype}"
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])




def pool_geometry(config):
    pool, strides, out_hw, pads = plan_2d("pool", (config.h, config.w), config.window,
                                          config.strides, config.padding)
    return pool, strides, (config.n, *out_hw, config.c_in), pads


# ----- convolution -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(config=conv_configs(), seed=st.integers(0, 2**32 - 1), bias=st.booleans())
def test_conv2d_matches_numpy_and_reference_tiers(dtype, config, seed, bias):
    x, w, b, dy, strides, pads = conv_case(config, seed, dtype, bias)
    y, ctx = NUMBA.conv2d_forward(x, w, b, strides, pads)
    grads = NUMBA.conv2d_backward(ctx, dy)
    for other in (NUMPY, REFERENCE):
        y_other, ctx_other = other.conv2d_forward(x, w, b, strides, pads)
        assert_same(y, y_other, dtype)
        for mine, theirs in zip(grads, other.conv2d_backward(ctx_other, dy)):
            if theirs is None:
                assert mine is None
            else:
                assert_same(mine, theirs, dtype)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_padding_split_over_threads_by_images_equals_numpy_pad(monkeypatch, threads):
    """The convolutions' zero padding (uneven on every side) is cut into ranges of whole
    images, one per thread, past SPLIT_ELEMENTS; each range gets its border and interior."""
    monkeypatch.setattr(loops, "get_num_threads", lambda: threads)
    x = np.random.default_rng(5).normal(size=(9, 40, 41, 64)).astype(np.float32)
    xp = np.full((9, 43, 45, 64), np.nan, np.float32)  # no cell may keep its old value
    assert xp.size >= loops.SPLIT_ELEMENTS
    numba_conv._pad_into(x, 1, 3, xp)
    np.testing.assert_array_equal(xp, np.pad(x, ((0, 0), (1, 2), (3, 1), (0, 0))))


@settings(deadline=None, max_examples=60)
@given(config=conv_configs(), seed=st.integers(0, 2**32 - 1), bias=st.booleans(),
       tile_bytes=st.integers(1, 600), threads=st.integers(1, 3), need_dx=st.booleans())
def test_conv2d_in_small_tiles_on_several_threads_matches_the_numpy_tier(
        monkeypatch, config, seed, bias, tile_bytes, threads, need_dx):
    """The production tile (1 MiB) holds every test case whole; here the backward's dcols
    tiles of a few rows end inside an image and between images, and up to 3 threads split
    the batch however small it is (more than the machine may have cores: the extra work
    waits for a worker), padding included, so every boundary of the tiling and of the
    per-thread image ranges is crossed, in float64."""
    monkeypatch.setattr(numba_conv, "TILE_BYTES", tile_bytes)
    monkeypatch.setattr(loops, "SPLIT_MACS", 0)
    monkeypatch.setattr(loops, "SPLIT_ELEMENTS", 0)
    monkeypatch.setattr(loops, "get_num_threads", lambda: threads)
    x, w, b, dy, strides, pads = conv_case(config, seed, np.float64, bias)
    y, ctx = NUMBA.conv2d_forward(x, w, b, strides, pads)
    dx, dw, db = NUMBA.conv2d_backward(ctx, dy, need_dx=need_dx)
    y_numpy, ctx_numpy = NUMPY.conv2d_forward(x, w, b, strides, pads)
    dx_numpy, dw_numpy, db_numpy = NUMPY.conv2d_backward(ctx_numpy, dy)
    assert_same(y, y_numpy, np.float64)
    assert_same(dw, dw_numpy, np.float64)
    assert (db is None) if b is None else np.allclose(db, db_numpy, **TOLERANCE[np.float64])
    assert (dx is None) if not need_dx else np.allclose(dx, dx_numpy, **TOLERANCE[np.float64])


def test_conv2d_gradients_are_bit_identical_from_run_to_run(monkeypatch):
    """Each thread sums the weight gradient of its own images and the sums are added in a
    fixed order: repeated float32 runs give the same bits (a scheme that let threads take
    work first come, first served, measured no faster, and its sums changed from run to run)."""
    monkeypatch.setattr(numba_conv, "TILE_BYTES", 4096)
    monkeypatch.setattr(loops, "SPLIT_MACS", 0)
    monkeypatch.setattr(loops, "get_num_threads", lambda: 3)
    r = np.random.default_rng(5)
    x, w = r.normal(size=(12, 9, 9, 5)).astype(np.float32), r.normal(size=(3, 3, 5, 7)).astype(np.float32)
    b, dy = r.normal(size=7).astype(np.float32), r.normal(size=(12, 9, 9, 7)).astype(np.float32)
    _, ctx = NUMBA.conv2d_forward(x, w, b, (1, 1), ((1, 1), (1, 1)))
    first = NUMBA.conv2d_backward(ctx, dy)
    for _ in range(30):
        for mine, expected in zip(NUMBA.conv2d_backward(ctx, dy), first):
            np.testing.assert_array_equal(mine, expected)


def direct_conv_case(dtype, images, side, channels, filters):
    """``(x, w, b, pads)`` of a 3x3 'same' convolution with normal random values."""
    r = np.random.default_rng(images * side + filters)
    x = r.normal(size=(images, side, side, channels)).astype(dtype)
    w = r.normal(size=(3, 3, channels, filters)).astype(dtype)
    return x, w, r.normal(size=filters).astype(dtype), ((1, 1), (1, 1))


# Blocks are 4 pixels x 16 float32 filters with AVX2 and 8 x 32 with AVX-512 (both widths
# run: tests/kernels/test_simd.py); the comments give both where they differ.
DIRECT_EDGE_CASES = pytest.mark.parametrize("images, side, channels, filters", [
    (1, 1, 1, 1),      # one pixel: a block with 3 (7) repeated pixels; 9 taps = 6 + 3 (+ 3 repeated)
    (3, 5, 50, 16),    # 75 pixels: a full task of 64, then 11 (2 blocks + 3; 1 + 3); taps 450 (> 128, 75 x 6)
    (2, 9, 3, 17),     # 162 pixels (2 tasks + 34 = 8 blocks + 2; 4 + 2); 17 filters pad to 32; 27 taps
    (5, 7, 50, 40),    # 245 pixels (3 tasks + 53 = 13 blocks + 1; 6 + 5); 40 filters pad to 48 (64)
    (2, 12, 7, 33),    # 288 pixels (4 tasks + 32, no short block); 33 filters pad to 48 (64); 63 taps
    (2, 6, 20, 16),    # tap rows of 60: segments of 2 rows, then 1
])


@pytest.mark.parametrize("dtype", DTYPES)
@DIRECT_EDGE_CASES
def test_direct_conv2d_covers_every_block_task_segment_and_filter_edge(monkeypatch, dtype, images, side,
                                                                        channels, filters):
    """The direct kernel works in blocks of 4 or 8 output pixels, tasks of 64 pixels, panels
    of 2 vectors of filters and segments of at most 128 taps (whole
    tap rows, or pieces of a longer one); these shapes end blocks and tasks short, group and
    split tap rows into segments and pad the filters. With and without the fused relu,
    against the numpy tier; the result does not depend on the thread count, bit for bit
    (each output is summed by one task); every case is split over the threads here, however
    small."""
    monkeypatch.setattr(loops, "SPLIT_MACS", 0)
    x, w, b, pads = direct_conv_case(dtype, images, side, channels, filters)
    expected, _ = NUMPY.conv2d_forward(x, w, b, (1, 1), pads)
    y, _ = NUMBA.conv2d_forward(x, w, b, (1, 1), pads)
    assert_same(y, expected, dtype)
    y_relu, _ = NUMBA.conv2d_relu_forward(x, w, b, (1, 1), pads)
    assert_same(y_relu, np.maximum(expected, 0), dtype)
    np.testing.assert_array_equal(y_relu, np.maximum(y, 0))
    threads = tinycnn.get_num_threads()
    try:
        tinycnn.set_num_threads(1)
        np.testing.assert_array_equal(NUMBA.conv2d_forward(x, w, b, (1, 1), pads)[0], y)
    finally:
        tinycnn.set_num_threads(threads)


@pytest.mark.parametrize("dtype", DTYPES)
@DIRECT_EDGE_CASES
def test_direct_weight_gradient_covers_every_tap_block_chunk_and_filter_edge(monkeypatch, dtype, images, side,
                                                                             channels, filters):
    """The weight-gradient kernel works in blocks of 6 taps (the last block repeats the last
    tap), chunks of 64 pixels and panels of 2 vectors of filters; these shapes end tap
    blocks and chunks short and pad the filters. Split over 3 threads however small (each
    sums its own images' gradient), against the numpy tier."""
    monkeypatch.setattr(loops, "SPLIT_MACS", 0)
    monkeypatch.setattr(loops, "get_num_threads", lambda: 3)
    x, w, b, pads = direct_conv_case(dtype, images, side, channels, filters)
    dy = np.random.default_rng(7).normal(size=(images, side, side, filters)).astype(dtype)
    _, ctx = NUMBA.conv2d_forward(x, w, b, (1, 1), pads)
    _, numpy_ctx = NUMPY.conv2d_forward(x, w, b, (1, 1), pads)
    for mine, expected in zip(NUMBA.conv2d_backward(ctx, dy), NUMPY.conv2d_backward(numpy_ctx, dy)):
        assert mine.dtype == dtype
        assert_same(mine, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("images, side, channels, filters", [
    (1, 2, 1, 1),      # one window: one block (half a block of 8 pixels)
    (3, 5, 50, 16),    # 5x5 outputs pool to 2x2 (the last row and column dropped); taps 150 > 128
    (5, 7, 50, 40),    # 45 windows: 2 tasks of 16 windows, then 13 (an odd count); 40 filters pad to 48 (64)
    (2, 12, 7, 33),    # 72 windows; 33 filters
    (2, 6, 20, 16),    # tap rows of 60: segments of 2 rows, then 1
])
def test_direct_conv2d_pooled_in_the_kernel_equals_pooling_its_output(dtype, relu, images, side, channels,
                                                                      filters):
    """With pooling, each 4 pixels of a block are one 2x2 window and the kernel stores only
    its maximum. The sums are the unpooled kernel's, so the result equals pooling its output
    (with the numpy tier's pooling), bit for bit."""
    x, w, b, pads = direct_conv_case(dtype, images, side, channels, filters)
    y, _ = (NUMBA.conv2d_relu_forward if relu else NUMBA.conv2d_forward)(x, w, b, (1, 1), pads)
    expected = NUMPY.max_pool2d_values(y, (2, 2), (2, 2), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(NUMBA.conv2d_max_pool_values(x, w, b, (1, 1), pads, relu), expected)


def test_direct_conv2d_pooling_lets_nan_win_as_the_pooling_kernels_do():
    r = np.random.default_rng(3)
    x, w = r.normal(size=(1, 6, 6, 2)), r.normal(size=(3, 3, 2, 3))
    x[0, 1, 4, 1] = np.nan   # reaches the outputs around (1, 4), in windows (0, 1) and (0, 2)
    for relu in (False, True):
        y = NUMBA.conv2d_max_pool_values(x, w, None, (1, 1), ((1, 1), (1, 1)), relu)
        assert np.isnan(y[0, :2, 1:]).all() and not np.isnan(y[0, :, 0]).any() and not np.isnan(y[0, 2]).any()


def test_direct_conv2d_and_its_weight_gradient_compute_float16_in_float32():
    r = np.random.default_rng(2)
    x, w, b = (r.normal(size=s).astype(np.float16) for s in [(2, 6, 6, 3), (3, 3, 3, 5), (5,)])
    y, ctx = NUMBA.conv2d_forward(x, w, b, (2, 2), ((0, 1), (0, 1)))
    expected, _ = NUMPY.conv2d_forward(*(a.astype(np.float32) for a in (x, w, b)), (2, 2), ((0, 1), (0, 1)))
    assert y.dtype == np.float16
    # float16 has 11 significant bits: both results round the same float32 sum to it
    np.testing.assert_allclose(y, expected, rtol=1e-3, atol=1e-3)
    dy = r.normal(size=y.shape).astype(np.float16)
    _, dw, db = NUMBA.conv2d_backward(ctx, dy)
    _, numpy_ctx = NUMPY.conv2d_forward(*(a.astype(np.float32) for a in (x, w, b)), (2, 2), ((0, 1), (0, 1)))
    _, expected_dw, expected_db = NUMPY.conv2d_backward(numpy_ctx, dy.astype(np.float32))
    assert dw.dtype == db.dtype == np.float16
    np.testing.assert_allclose(dw, expected_dw, rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(db, expected_db, rtol=1e-3, atol=1e-2)


def test_conv2d_on_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients():
    x, w, b = np.zeros((0, 5, 5, 3)), np.ones((3, 3, 3, 4)), np.ones(4)
    y, ctx = NUMBA.conv2d_forward(x, w, b, (1, 1), ((1, 1), (1, 1)))
    dx, dw, db = NUMBA.conv2d_backward(ctx, np.zeros(y.shape))
    assert y.shape == (0, 5, 5, 4) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros_like(b))


def test_conv2d_backward_is_not_disturbed_by_a_later_forward_of_the_same_shape():
    """The scratch buffers are shared between calls: two layers of one shape run forward,
    forward, backward, backward, as in a network, must still get their own gradients."""
    r = np.random.default_rng(0)
    first_x, second_x = r.normal(size=(2, 6, 6, 3)), r.normal(size=(2, 6, 6, 3))
    w, dy = r.normal(size=(3, 3, 3, 3)), r.normal(size=(2, 6, 6, 3))
    pads = ((1, 1), (1, 1))
    _, first_ctx = NUMBA.conv2d_forward(first_x, w, None, (1, 1), pads)
    NUMBA.conv2d_forward(second_x, w, None, (1, 1), pads)
    dx, dw, _ = NUMBA.conv2d_backward(first_ctx, dy)
    _, numpy_ctx = NUMPY.conv2d_forward(first_x, w, None, (1, 1), pads)
    expected_dx, expected_dw, _ = NUMPY.conv2d_backward(numpy_ctx, dy)
    assert_same(dx, expected_dx, np.float64)
    assert_same(dw, expected_dw, np.float64)


def test_conv2d_accepts_non_contiguous_input():
    r = np.random.default_rng(1)
    x = r.normal(size=(2, 3, 7, 5)).transpose(0, 2, 3, 1)    # (2, 7, 5, 3), not contiguous
    w, pads = r.normal(size=(2, 2, 3, 4)), ((0, 1), (0, 1))
    y, ctx = NUMBA.conv2d_forward(x, w, None, (2, 2), pads)
    expected, _ = NUMPY.conv2d_forward(x, w, None, (2, 2), pads)
    assert_same(y, expected, np.float64)


# ----- pooling -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["max", "avg"])
@given(config=pool_configs(), data=st.data())
def test_pooling_matches_numpy_and_reference_tiers(dtype, kind, config, data):
    pool, strides, out_shape, pads = pool_geometry(config)
    x = data.draw(distinct_values(config.input_shape, dtype=dtype))
    dy = data.draw(distinct_values(out_shape, dtype=dtype))
    forward, backward = f"{kind}_pool2d_forward", f"{kind}_pool2d_backward"
    y, ctx = getattr(NUMBA, forward)(x, pool, strides, pads)
    dx = getattr(NUMBA, backward)(ctx, dy)
    for other in (NUMPY, REFERENCE):
        y_other, ctx_other = getattr(other, forward)(x, pool, strides, pads)
        assert_same(y, y_other, dtype)
        assert_same(dx, getattr(other, backward)(ctx_other, dy), dtype)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_large_enough_to_be_split_over_threads_matches_the_numpy_tier(monkeypatch, kind, threads):
    """Past SPLIT_WORK input elements the pooling kernels run one range of rows (forward)
    or images (backward) per thread (3 ranges here, whatever the machine's cores); 'same'
    padding with stride 1 makes windows overlap across the ranges' edges."""
    monkeypatch.setattr(loops, "get_num_threads", lambda: threads)
    r = np.random.default_rng(4)
    x = r.permutation(5 * 21 * 23 * 32).reshape(5, 21, 23, 32).astype(np.float64)  # distinct values
    assert x.size > loops.SPLIT_WORK
    pool, strides, pads = (3, 2), (1, 2), ((1, 1), (0, 1))
    forward, backward = f"{kind}_pool2d_forward", f"{kind}_pool2d_backward"
    expected, ctx_numpy = getattr(NUMPY, forward)(x, pool, strides, pads)
    dy = r.normal(size=expected.shape)
    y, ctx = getattr(NUMBA, forward)(x, pool, strides, pads)
    assert_same(y, expected, np.float64)
    assert_same(getattr(NUMBA, backward)(ctx, dy), getattr(NUMPY, backward)(ctx_numpy, dy), np.float64)
    if kind == "max":
        np.testing.assert_array_equal(NUMBA.max_pool2d_values(x, pool, strides, pads), y)


@given(config=pool_configs(), seed=st.integers(0, 2**32 - 1))
def test_max_pool_ties_go_to_the_first_maximum_and_padding_never_wins(config, seed):
    """Inputs of a few negative whole numbers tie often, and lose to a zero pad if padded
    cells were counted; the gradient must land where the numpy tier sends it (whole-number
    gradients, so that sums over overlapping windows are exact in any order)."""
    pool, strides, out_shape, pads = pool_geometry(config)
    r = np.random.default_rng(seed)
    x = -r.integers(1, 3, size=config.input_shape).astype(np.float64)
    dy = r.integers(-4, 5, size=out_shape).astype(np.float64)
    y, ctx = NUMBA.max_pool2d_forward(x, pool, strides, pads)
    y_numpy, ctx_numpy = NUMPY.max_pool2d_forward(x, pool, strides, pads)
    np.testing.assert_array_equal(y, y_numpy)
    np.testing.assert_array_equal(NUMBA.max_pool2d_values(x, pool, strides, pads), y_numpy)
    np.testing.assert_array_equal(NUMBA.max_pool2d_backward(ctx, dy),
                                  NUMPY.max_pool2d_backward(ctx_numpy, dy))


@pytest.mark.parametrize("dtype", DTYPES)
@given(config=pool_configs(), data=st.data())
def test_max_pool_values_for_inference_match_the_training_forward(dtype, config, data):
    """Without the winners (the kernel compiled for ``winner=None``) the outputs are the
    same, bit for bit."""
    pool, strides, _, pads = pool_geometry(config)
    x = data.draw(distinct_values(config.input_shape, dtype=dtype))
    y, _ = NUMBA.max_pool2d_forward(x, pool, strides, pads)
    values = NUMBA.max_pool2d_values(x, pool, strides, pads)
    assert values.dtype == dtype
    np.testing.assert_array_equal(values, y)


def test_max_pool_lets_a_nan_win_its_window_like_numpy_argmax():
    x = np.array([1.0, np.nan, 3.0, np.nan, 0.0, -1.0]).reshape(1, 1, 6, 1)
    y, ctx = NUMBA.max_pool2d_forward(x, (1, 3), (1, 3), ((0, 0), (0, 0)))
    y_numpy, ctx_numpy = NUMPY.max_pool2d_forward(x, (1, 3), (1, 3), ((0, 0), (0, 0)))
    np.testing.assert_array_equal(y, y_numpy)                  # [nan, nan]
    np.testing.assert_array_equal(NUMBA.max_pool2d_values(x, (1, 3), (1, 3), ((0, 0), (0, 0))), y_numpy)
    dy = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    np.testing.assert_array_equal(NUMBA.max_pool2d_backward(ctx, dy),
                                  NUMPY.max_pool2d_backward(ctx_numpy, dy))


# ----- activations, loss, dropout ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@given(seed=st.integers(0, 2**32 - 1), shape=st.lists(st.integers(1, 6), min_size=1, max_size=4))
def test_relu_matches_numpy_tier_exactly(dtype, seed, shape):
    r = np.random.default_rng(seed)
    x = r.normal(size=shape).astype(dtype) * (r.random(shape) < 0.8)   # exact zeros too
    dy = r.normal(size=shape).astype(dtype)
    y = NUMBA.relu_forward(x)
    np.testing.assert_array_equal(y, NUMPY.relu_forward(x))
    assert y.dtype == dtype
    dx = NUMBA.relu_backward(y, dy)
    np.testing.assert_array_equal(dx, NUMPY.relu_backward(y, dy))
    assert dx.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target_kind", ["labels", "one_hot", "soft"])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), classes=st.integers(1, 7),
       scale=st.sampled_from([1.0, 30.0]))
def test_softmax_cross_entropy_matches_numpy_tier(dtype, target_kind, seed, n, classes, scale):
    r = np.random.default_rng(seed)
    logits = (scale * r.normal(size=(n, classes))).astype(dtype)
    labels = r.integers(0, classes, size=n)
    targets = {"labels": labels,
               "one_hot": np.eye(classes, dtype=dtype)[labels],
               "soft": r.dirichlet(np.ones(classes), size=n).astype(dtype)}[target_kind]
    losses, grad = NUMBA.softmax_cross_entropy(logits, targets)
    expected_losses, expected_grad = NUMPY.softmax_cross_entropy(logits.copy(), targets)
    tolerance = dict(rtol=1e-4, atol=1e-5 * scale) if dtype == np.float32 else TOLERANCE[dtype]
    for mine, theirs in ((losses, expected_losses), (grad, expected_grad)):
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine, theirs, **tolerance)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_mask_draws_like_numpy_tier_and_keeps_the_expectation(dtype, rate):
    shape = (64, 8, 8, 4)
    mask = NUMBA.dropout_mask(shape, rate, np.random.default_rng(3), np.dtype(dtype))
    same_draws = NUMPY.dropout_mask(shape, rate, np.random.default_rng(3), np.dtype(dtype))
    np.testing.assert_array_equal(mask, same_draws)
    assert mask.dtype == dtype and mask.shape == shape
    scale = dtype(1 / (1 - rate))
    assert set(np.unique(mask)) <= {0, scale}
    keep = np.mean(mask != 0)
    # 16384 Bernoulli draws: the kept fraction is within 4 standard deviations of 1 - rate.
    assert abs(keep - (1 - rate)) < 4 * np.sqrt(rate * (1 - rate) / mask.size)
    assert abs(mask.mean() - 1) < 4 * np.sqrt(rate / (1 - rate) / mask.size)


# ----- optimizer updates ---------------------------------------------------------------------
OPTIMIZER_CASES = [
    ("sgd", 0, dict(lr=0.1, momentum=0.0, nesterov=False)),
    ("sgd", 1, dict(lr=0.1, momentum=0.9, nesterov=False)),
    ("sgd", 1, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("rmsprop", 1, dict(lr=0.01, rho=0.9, momentum=0.0, eps=1e-7)),
    ("rmsprop", 2, dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-7)),
    ("rmsprop", 3, dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-7)),
    ("adam", 2, dict(lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7)),
    ("adamax", 2, dict(lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7)),
]


def slots_for(name, count, like):
    """The slot arguments of an update, None where the configuration has no such slot:
    sgd (velocity,), rmsprop (avg_sq, momentum, avg_g), adam/adamax (m, v or u)."""
    width = {"sgd": 1, "rmsprop": 3, "adam": 2, "adamax": 2}[name]
    return [np.zeros_like(like) if k < count else None for k in range(width)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, slot_count, hyper", OPTIMIZER_CASES,
                         ids=[f"{n}-{c}slots{'-nesterov' if h.get('nesterov') else ''}"
                              for n, c, h in OPTIMIZER_CASES])
def test_optimizer_updates_match_numpy_tier_over_several_steps(dtype, name, slot_count, hyper):
    r = np.random.default_rng(7)
    start = r.normal(size=(4, 3, 5)).astype(dtype)
    gradients = [r.normal(size=start.shape).astype(dtype) for _ in range(6)]
    states = {}
    for tier in (NUMBA, NUMPY):
        p, slots = start.copy(), slots_for(name, slot_count, start)
        for step, g in enumerate(gradients, start=1):
            extra = {"t": step} if name.startswith("adam") else {}
            getattr(tier, f"{name}_update")(p, g, *slots, **hyper, **extra)
        states[tier.name] = [p] + [s for s in slots if s is not None]
    assert not np.array_equal(states["numba"][0], start)
    for mine, theirs in zip(states["numba"], states["numpy"]):
        assert mine.dtype == dtype
        np.testing.assert_allclose(mine, theirs, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-13)


def test_elementwise_and_optimizer_kernels_split_over_threads_match_the_numpy_tier(monkeypatch):
    """Past SPLIT_ELEMENTS values these kernels run one range per thread; here 3 ranges of a
    small array (61 values: ranges of 20, 20, 21), against the numpy tier."""
    monkeypatch.setattr(loops, "SPLIT_ELEMENTS", 1)
    monkeypatch.setattr(loops, "get_num_threads", lambda: 3)
    pieces, run_all = [], loops.run_all
    monkeypatch.setattr(loops, "run_all", lambda calls: pieces.append(len(calls)) or run_all(calls))
    r = np.random.default_rng(8)
    x, dy = r.normal(size=61), r.normal(size=61)
    np.testing.assert_array_equal(NUMBA.relu_forward(x), NUMPY.relu_forward(x))
    np.testing.assert_array_equal(NUMBA.relu_backward(x, dy), NUMPY.relu_backward(x, dy))
    np.testing.assert_array_equal(NUMBA.dropout_mask((61,), 0.3, np.random.default_rng(1), np.dtype(np.float64)),
                                  NUMPY.dropout_mask((61,), 0.3, np.random.default_rng(1), np.dtype(np.float64)))
    for name, slot_count, hyper in OPTIMIZER_CASES:
        extra = {"t": 1} if name.startswith("adam") else {}
        results = []
        for tier in (NUMBA, NUMPY):
            p, slots = x.copy(), slots_for(name, slot_count, x)
            getattr(tier, f"{name}_update")(p, dy, *slots, **hyper, **extra)
            results.append([p] + [s for s in slots if s is not None])
        for mine, theirs in zip(*results):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-13)
    assert pieces == [3] * (3 + len(OPTIMIZER_CASES))


def test_optimizer_update_reaches_a_non_contiguous_parameter():
    base = np.arange(12.0).reshape(3, 4)
    p, velocity, g = base.T, np.zeros((4, 3)), np.ones((4, 3))
    NUMBA.sgd_update(p, g, velocity, lr=0.5, momentum=0.9, nesterov=False)
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4) - 0.5)


# ----- threads -------------------------------------------------------------------------------
def test_set_num_threads_round_trips_and_rejects_bad_counts():
    before = tinycnn.get_num_threads(), tinycnn.get_blas_threads()
    try:
        tinycnn.set_num_threads(1, blas_threads=1)
        assert (tinycnn.get_num_threads(), tinycnn.get_blas_threads()) == (1, 1)
        tinycnn.set_num_threads(before[0], blas_threads=before[0])
        assert (tinycnn.get_num_threads(), tinycnn.get_blas_threads()) == (before[0], before[0])
        for bad in (0, -1, 1.5, True, 10_000):
            with pytest.raises(ValueError, match="set_num_threads"):
                tinycnn.set_num_threads(bad)
            with pytest.raises(ValueError, match="blas_threads"):
                tinycnn.set_num_threads(1, blas_threads=bad)
    finally:
        tinycnn.set_num_threads(*before)


@pytest.mark.parametrize("threads", [1, 2])
def test_kernels_agree_with_any_thread_count(threads):
    threads = min(threads, tinycnn.kernels.threads.max_threads())
    r = np.random.default_rng(threads)
    x, w = r.normal(size=(3, 8, 8, 2)), r.normal(size=(3, 3, 2, 4))
    pads = ((1, 1), (1, 1))
    before = tinycnn.get_num_threads()
    try:
        tinycnn.set_num_threads(threads)
        y, _ = NUMBA.conv2d_forward(x, w, None, (1, 1), pads)
    finally:
        tinycnn.set_num_threads(before)
    assert_same(y, NUMPY.conv2d_forward(x, w, None, (1, 1), pads)[0], np.float64)


def test_models_compute_with_tinycnns_blas_threads_and_restore_the_callers():
    from threadpoolctl import threadpool_info, threadpool_limits

    from tinycnn.callbacks import LambdaCallback
    from tinycnn.layers import Dense, Input
    from tinycnn.models import Sequential

    def blas_threads():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    model = Sequential([Input(shape=(3,)), Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    with threadpool_limits(2, user_api="blas"):
        before = blas_threads()
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0,
                  callbacks=[LambdaCallback(on_batch_end=lambda b, logs: seen.append(blas_threads()))])
        assert seen and all(t == [tinycnn.get_blas_threads()] * len(t) for t in seen)
        assert blas_threads() == before


def test_batch_norm_inference_split_over_threads_is_the_array_expression():
    """Large enough to be split by rows over the threads: the one-pass kernel computes
    (x - mean) * scale + beta in the same order and roundings as the array expression (no
    FMA contraction), so the outputs are equal bit for bit."""
    from tinycnn.kernels.contract import KernelContract
    r = np.random.default_rng(1)
    x = r.standard_normal((64, 16, 16, 64)).astype(np.float32)
    mean, scale, beta = (r.standard_normal(64).astype(np.float32) for _ in range(3))
    assert x.size >= loops.SPLIT_ELEMENTS
    np.testing.assert_array_equal(NUMBA.batch_norm_inference(x, mean, scale, beta),
                                  KernelContract().batch_norm_inference(x, mean, scale, beta))


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_batch_norm_split_over_threads_matches_float64(offset):
    """A batch large enough to be split by rows over the threads, with channel means of 0 and
    of 1000 (the shifted float64 sums keep the variance's digits), on the Numba and NumPy
    tiers against the formulas in float64: outputs within 3e-6 at mean 0 and 3e-5 at mean
    1000 (measured 1.3e-6 and 1.8e-5: at 1000 float32 x itself is rounded by 3e-5, i.e. 1e-5
    of a standard deviation of 3, times gamma up to 2), gradients within 1e-4 of their scale."""
    from tinycnn.kernels.numpy_tier import NumpyBackend
    r = np.random.default_rng(0)
    x = (r.standard_normal((64, 16, 16, 64)) * 3 + offset).astype(np.float32)
    gamma, beta = r.uniform(0.5, 2, 64).astype(np.float32), r.standard_normal(64).astype(np.float32)
    dy = r.standard_normal(x.shape).astype(np.float32)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    mean, var = x64.mean((0, 1, 2)), x64.var((0, 1, 2))
    xhat = (x64 - mean) / np.sqrt(var + 1e-3)
    m = x.size // 64
    dxhat = dy64 * gamma
    want = [(m * dxhat - dxhat.sum((0, 1, 2)) - xhat * (dxhat * xhat).sum((0, 1, 2))) / (m * np.sqrt(var + 1e-3)),
            (dy64 * xhat).sum((0, 1, 2)), dy64.sum((0, 1, 2))]
    for kernels in (NUMBA, NumpyBackend()):
        y, ctx = kernels.batch_norm_forward(x, gamma, beta, 1e-3)
        np.testing.assert_allclose(y, xhat * gamma + beta, atol=3e-6 if offset == 0 else 3e-5)
        np.testing.assert_allclose(ctx["var"], var, rtol=1e-5)
        for got, expected in zip(kernels.batch_norm_backward(ctx, dy), want):
            np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())
