"""The threaded matrix product (kernels/gemm.py) and the freed-memory setting (kernels/memory.py)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinycnn.kernels import gemm, memory


@pytest.fixture
def split_everything(monkeypatch):
    """Split every product, into 3 pieces (more than the pool may have workers), whatever
    the machine's core count."""
    monkeypatch.setattr(gemm, "MIN_FLOPS", 0)
    monkeypatch.setattr(gemm, "get_num_threads", lambda: 3)


@settings(deadline=None, max_examples=60)
@given(m=st.integers(1, 40), r=st.integers(1, 40), n=st.integers(1, 40), seed=st.integers(0, 2**16),
       transpose_a=st.booleans(), with_out=st.booleans())
def test_split_product_equals_numpy(split_everything, m, r, n, seed, transpose_a, with_out):
    """Rows, columns or the sum are split depending on which of m, n, r is largest; every
    case must give np.matmul's result. float64 so that the sum split (other order of
    additions) agrees to 1e-12."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((r, m)).T if transpose_a else rng.standard_normal((m, r))
    b = rng.standard_normal((r, n))
    out = np.full((m, n), np.nan) if with_out else None
    result = gemm.matmul(a, b, out)
    np.testing.assert_allclose(result, a @ b, rtol=1e-12, atol=1e-12)
    if with_out:
        assert result is out


@pytest.mark.parametrize("shape", [(600, 20, 8), (8, 20, 600), (8, 600, 20)])
def test_each_split_direction_writes_every_element(split_everything, shape):
    """One shape per direction (rows, columns, sum), float32 as in training."""
    m, r, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.random((m, r), dtype=np.float32), rng.random((r, n), dtype=np.float32)
    result = gemm.matmul(a, b, np.full((m, n), np.nan, dtype=np.float32))
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, a @ b, rtol=1e-5)


def test_small_or_stacked_products_are_left_to_numpy(monkeypatch):
    calls = []
    monkeypatch.setattr(gemm, "run_all", lambda jobs: calls.append(jobs))
    monkeypatch.setattr(gemm, "get_num_threads", lambda: 2)
    a = np.ones((2, 3, 4))
    np.testing.assert_array_equal(gemm.matmul(a, np.ones((4, 5))), np.full((2, 3, 5), 4.0))
    np.testing.assert_array_equal(gemm.matmul(np.ones((3, 4)), np.ones((4, 5))), np.full((3, 5), 4.0))
    assert calls == []


def test_freed_memory_setting_applies_on_glibc_and_can_be_turned_off(monkeypatch):
    import ctypes
    import sys
    glibc = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallopt")
    assert memory.keep_freed_memory() is glibc
    monkeypatch.setenv("TINYCNN_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory() is False
