"""The cuda tier keeps the kernel contract: on random shapes, strides and paddings its
kernels give the numpy tier's results (to float rounding), in the input's dtype, and they
take and return device arrays of ``backend.xp``.

Without a GPU (CI) the tests run under Numba's CUDA simulator: this module sets
``NUMBA_ENABLE_CUDASIM=1`` before anything imports ``numba.cuda`` (the rest of the suite
imports numba but never numba.cuda, and the cuda tier's loader only imports numba.cuda when
a GPU or the simulator is there). The simulator runs every GPU thread as a Python thread, so
the shapes are small and hypothesis draws few examples. On a machine with a GPU and CuPy
the same tests run on the GPU with CuPy arrays, for both matrix-product paths (the Numba
teaching GEMM and cuBLAS).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tinycnn.kernels.geometry import plan_2d
from tinycnn.kernels.numpy_tier import NumpyBackend
from tinycnn.testing.strategies import conv_configs, distinct_values, pool_configs

from strategies import conv_case


def _real_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


REAL_GPU = _real_gpu()
if not REAL_GPU:
    if "numba.cuda" in sys.modules and "simulator" not in getattr(
            sys.modules.get("numba.cuda.cudadrv"), "__name__", ""):
        pytest.skip("numba.cuda was imported without the simulator before this module",
                    allow_module_level=True)
    _previous = os.environ.get("NUMBA_ENABLE_CUDASIM")
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
try:
    from tinycnn.kernels.cuda import CudaBackend  # noqa: E402
    # Every matrix-product path: the teaching GEMM always, cuBLAS where there is a GPU.
    CUDAS = [CudaBackend(gemm="numba")] + ([CudaBackend(gemm="cublas")] if REAL_GPU else [])
finally:
    # Leave the environment of later tests (and their subprocesses) alone: with the variable
    # unset, the simulated tier refuses to load, so available_backends() in other test
    # modules does not offer it (their full-size cases would take hours on the simulator).
    if not REAL_GPU:
        if _previous is None:
            del os.environ["NUMBA_ENABLE_CUDASIM"]
        else:
            os.environ["NUMBA_ENABLE_CUDASIM"] = _previous

NUMPY = NumpyBackend()
CUDA = CUDAS[0]
DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: dict(rtol=3e-5, atol=3e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
# On a GPU a failing example recompiles kernels on every try: no shrinking there.
FEW = (settings(max_examples=5, deadline=None) if not REAL_GPU else
       settings(max_examples=12, deadline=None, phases=(Phase.explicit, Phase.generate)))
SMALL = dict(max_batch=2, max_side=6, max_channels=3)


def dev(a):
    return CUDA.to_device(a)


def assert_same(actual, expected, dtype):
    """``actual`` is a device array of the tier's array module; compare on the host."""
    assert isinstance(actual, CUDA.xp.ndarray), type(actual)
    actual = CUDA.to_host(actual)
    assert actual.dtype == dtype, f"expected {np.dtype(dtype)}, got {actual.dtype}"
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, **TOLERANCE[dtype])


def test_the_tier_runs_where_expected():
    assert CUDA.name == "cuda"
    assert CUDA.simulated == (not REAL_GPU)
    assert CUDA.xp is np if CUDA.simulated else CUDA.xp.__name__ == "cupy"
    host = np.arange(6.0).reshape(2, 3)
    back = CUDA.to_host(CUDA.to_device(host))
    assert isinstance(back, np.ndarray) and np.array_equal(back, host)


def test_importing_tinycnn_loads_no_gpu_library_and_lists_cuda_only_with_a_gpu():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    code = ("import sys, tinycnn; print('numba.cuda' in sys.modules, 'cupy' in sys.modules, "
            "'cuda' in tinycnn.available_backends())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out == ["False", "False", str(REAL_GPU)]


# ----- matrix product ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(m=st.integers(1, 11), k=st.integers(0, 11), n=st.integers(1, 11), transpose=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_teaching_gemm_matches_numpy(dtype, m, k, n, transpose, seed):
    r = np.random.default_rng(seed)
    a, b = r.normal(size=(m, k)).astype(dtype), r.normal(size=(k, n)).astype(dtype)
    a_dev = dev(np.ascontiguousarray(a.T)).T if transpose else dev(a)   # a strided view
    assert_same(CUDA.numba_matmul(a_dev, dev(b)), a @ b, dtype)


# ----- convolution ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", CUDAS, ids=lambda b: b.gemm)
@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(config=conv_configs(max_window=3, **SMALL), seed=st.integers(0, 2**32 - 1), bias=st.booleans())
def test_conv2d_matches_numpy_tier(backend, dtype, config, seed, bias):
    x, w, b, dy, strides, pads = conv_case(config, seed, dtype, bias)
    y, ctx = backend.conv2d_forward(dev(x), dev(w), None if b is None else dev(b), strides, pads)
    y_np, ctx_np = NUMPY.conv2d_forward(x, w, b, strides, pads)
    assert_same(y, y_np, dtype)
    for mine, theirs in zip(backend.conv2d_backward(ctx, dev(dy)), NUMPY.conv2d_backward(ctx_np, dy)):
        if theirs is None:
            assert mine is None
        else:
            assert_same(mine, theirs, dtype)
    no_dx, dw, _ = backend.conv2d_backward(ctx, dev(dy), need_dx=False)   # first layer: no dx
    assert no_dx is None
    assert_same(dw, NUMPY.conv2d_backward(ctx_np, dy)[1], dtype)


def test_conv2d_accepts_a_non_contiguous_input_and_keeps_its_inputs():
    r = np.random.default_rng(1)
    x = r.normal(size=(2, 5, 4, 3)).transpose(0, 2, 1, 3)          # (2, 4, 5, 3), strided
    w, dy = r.normal(size=(2, 3, 3, 2)), r.normal(size=(2, 2, 3, 2))
    x_dev = dev(np.ascontiguousarray(x.transpose(0, 2, 1, 3))).transpose(0, 2, 1, 3)
    before = CUDA.to_host(x_dev).copy()
    y, ctx = CUDA.conv2d_forward(x_dev, dev(w), None, (2, 2), ((0, 1), (1, 1)))
    y_np, ctx_np = NUMPY.conv2d_forward(x, w, None, (2, 2), ((0, 1), (1, 1)))
    assert_same(y, y_np, np.float64)
    dx, dw, db = CUDA.conv2d_backward(ctx, dev(dy))
    dx_np, dw_np, _ = NUMPY.conv2d_backward(ctx_np, dy)
    assert db is None
    assert_same(dx, dx_np, np.float64)
    assert_same(dw, dw_np, np.float64)
    assert np.array_equal(CUDA.to_host(x_dev), before)


# ----- pooling ----------------------------------------------------------------------------------
def pool_geometry(config):
    pool, strides, out_hw, pads = plan_2d("pool", (config.h, config.w), config.window,
                                          config.strides, config.padding)
    return pool, strides, (config.n, *out_hw, config.c_in), pads


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(config=pool_configs(**SMALL), data=st.data())
def test_pooling_matches_numpy_tier(kind, dtype, config, data):
    pool, strides, out_shape, pads = pool_geometry(config)
    x = data.draw(distinct_values(config.input_shape, dtype=dtype))
    dy = data.draw(distinct_values(out_shape, dtype=dtype))
    y, ctx = getattr(CUDA, f"{kind}_pool2d_forward")(dev(x), pool, strides, pads)
    y_np, ctx_np = getattr(NUMPY, f"{kind}_pool2d_forward")(x, pool, strides, pads)
    assert_same(y, y_np, dtype)
    dx = getattr(CUDA, f"{kind}_pool2d_backward")(ctx, dev(dy))
    assert_same(dx, getattr(NUMPY, f"{kind}_pool2d_backward")(ctx_np, dy), dtype)


def test_max_pool_ties_go_to_the_first_cell_and_padding_never_wins():
    """All-equal negative windows: the first real cell (row-major) takes the gradient,
    never a padded one; overlapping windows add up on a shared winner."""
    x = np.full((1, 3, 3, 1), -1.0)
    pads = ((1, 1), (1, 1))
    y, ctx = CUDA.max_pool2d_forward(dev(x), (3, 3), (1, 1), pads)
    y_np, ctx_np = NUMPY.max_pool2d_forward(x, (3, 3), (1, 1), pads)
    assert_same(y, y_np, np.float64)
    dy = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    assert_same(CUDA.max_pool2d_backward(ctx, dev(dy)), NUMPY.max_pool2d_backward(ctx_np, dy), np.float64)


# ----- relu, dropout, softmax cross-entropy --------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_matches_numpy_tier(dtype):
    r = np.random.default_rng(2)
    x, dy = r.normal(size=(3, 4, 5)).astype(dtype), r.normal(size=(3, 4, 5)).astype(dtype)
    x[0, 0, :2] = 0
    y = CUDA.relu_forward(dev(x))
    assert_same(y, NUMPY.relu_forward(x), dtype)
    assert_same(CUDA.relu_backward(y, dev(dy)), NUMPY.relu_backward(NUMPY.relu_forward(x), dy), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_mask_is_the_numpy_tiers_mask(dtype):
    """Same generator, same seed: the same mask (the draws are made on the host)."""
    dtype = np.dtype(dtype)
    mask = CUDA.dropout_mask((4, 3, 5), 0.3, np.random.default_rng(7), dtype)
    expected = NUMPY.dropout_mask((4, 3, 5), 0.3, np.random.default_rng(7), dtype)
    assert_same(mask, expected, dtype.type)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", [True, False], ids=["labels", "rows"])
def test_softmax_cross_entropy_matches_numpy_tier(dtype, labels):
    r = np.random.default_rng(3)
    logits = (r.normal(size=(6, 5)) * 4).astype(dtype)
    index = r.integers(0, 5, size=6)
    if labels:
        targets = index
    else:
        targets = r.uniform(size=(6, 5)).astype(dtype)      # soft rows that do not sum to 1
    for mine, theirs in zip(CUDA.softmax_cross_entropy(dev(logits), dev(targets)),
                            NUMPY.softmax_cross_entropy(logits, targets)):
        assert_same(mine, theirs, dtype)


# ----- optimizer updates ---------------------------------------------------------------------------
# case -> (hyper-parameters, slots left out (None))
UPDATES = {
    "sgd": (dict(lr=0.1, momentum=0.0, nesterov=False), ["velocity"]),
    "sgd_momentum": (dict(lr=0.1, momentum=0.9, nesterov=False), []),
    "sgd_nesterov": (dict(lr=0.1, momentum=0.9, nesterov=True), []),
    "rmsprop": (dict(lr=0.01, rho=0.9, momentum=0.0, eps=1e-7), ["mom", "avg_g"]),
    "rmsprop_momentum": (dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-7), ["avg_g"]),
    "rmsprop_centered": (dict(lr=0.01, rho=0.9, momentum=0.0, eps=1e-7), ["mom"]),
    "rmsprop_centered_momentum": (dict(lr=0.01, rho=0.9, momentum=0.5, eps=1e-7), []),
    "adam": (dict(lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7), []),
    "adamax": (dict(lr=0.01, beta_1=0.9, beta_2=0.999, eps=1e-7), []),
    "adagrad": (dict(lr=0.1, eps=1e-7), []),
    "adadelta": (dict(lr=1.0, rho=0.95, eps=1e-7), []),
}
SLOT_NAMES = {"sgd": ["velocity"], "rmsprop": ["avg_sq", "mom", "avg_g"], "adam": ["m", "v"],
              "adamax": ["m", "u"], "adagrad": ["acc"], "adadelta": ["acc_g", "acc_dx"]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(UPDATES))
def test_optimizer_updates_match_numpy_tier_over_steps(case, dtype):
    method = case.split("_")[0]
    hyper, absent = UPDATES[case]
    r = np.random.default_rng(4)
    p = r.normal(size=(3, 7)).astype(dtype)
    names = SLOT_NAMES[method]
    slots = {name: (None if name in absent else np.zeros_like(p)) for name in names}
    if method == "rmsprop":
        slots["avg_sq"] = np.full_like(p, 0.1)
    p_dev = dev(p)
    slots_dev = {name: None if s is None else dev(s) for name, s in slots.items()}
    update = getattr(CUDA, f"{method}_update")
    expected_update = getattr(NUMPY, f"{method}_update")
    for step in range(1, 4):
        g = r.normal(size=p.shape).astype(dtype)
        extra = dict(t=step) if method in ("adam", "adamax") else {}
        update(p_dev, dev(g), *slots_dev.values(), **hyper, **extra)
        expected_update(p, g, *slots.values(), **hyper, **extra)
    assert_same(p_dev, p, dtype)
    for name in names:
        if slots[name] is not None:
            assert_same(slots_dev[name], slots[name], dtype)


def test_optimizer_update_reaches_a_non_contiguous_parameter():
    r = np.random.default_rng(5)
    p, g = r.normal(size=(4, 6)), r.normal(size=(4, 6))
    p_dev = dev(p.copy())
    view = p_dev[:, ::2]                                   # strided: updated through a copy
    CUDA.adagrad_update(view, dev(g[:, ::2].copy()), dev(np.zeros((4, 3))), 0.1, 1e-7)
    NUMPY.adagrad_update(p[:, ::2], g[:, ::2].copy(), np.zeros((4, 3)), 0.1, 1e-7)
    assert_same(p_dev, p, np.float64)


# ----- gradient checks through the ops (simulator: NumPy arrays play the device arrays) -----------
def test_the_simulated_tier_is_not_offered_without_the_variable():
    if REAL_GPU:
        pytest.skip("a real GPU is there")
    import tinycnn
    assert "NUMBA_ENABLE_CUDASIM" not in os.environ or os.environ["NUMBA_ENABLE_CUDASIM"] == "0"
    assert "cuda" not in tinycnn.available_backends()


@pytest.fixture
def simulated_cuda_backend(restore_backend, monkeypatch):
    """Select the cuda tier through tinycnn.set_backend (under the simulator without a GPU),
    and forget the instance afterwards so that later tests are not offered it."""
    import tinycnn
    import tinycnn.kernels as registry

    if not REAL_GPU:
        monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    tinycnn.set_backend("cuda")
    yield
    if not REAL_GPU:
        registry._instances.pop("cuda", None)


@pytest.mark.skipif(REAL_GPU, reason="gradcheck perturbs NumPy arrays on the host (simulator only)")
def test_gradcheck_conv2d_and_max_pool2d_through_the_cuda_tier(simulated_cuda_backend):
    from tinycnn import functional as F
    from tinycnn.testing import gradcheck

    r = np.random.default_rng(6)
    gradcheck(lambda x, w, b: F.conv2d(x, w, b, strides=(2, 1), padding="same"),
              r.uniform(-1, 1, (1, 3, 3, 1)), r.uniform(-1, 1, (2, 2, 1, 2)), r.uniform(-1, 1, 2))
    x = (r.permutation(16) - 8.0).reshape(1, 4, 4, 1) * 0.1        # distinct values: no ties
    gradcheck(lambda x: F.max_pool2d(x, (2, 2), strides=(1, 2), padding="same"), x)
