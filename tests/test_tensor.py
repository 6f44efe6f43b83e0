"""Tensor construction, dtypes, inspection and the operator overloads."""
from __future__ import annotations

import numpy as np
import pytest

from tinycnn import Tensor


# ----- construction and dtypes ------------------------------------------------------------
@pytest.mark.parametrize("value", [[1.0, 2.0], 3.5, [[0.5], [1.5]]])
def test_python_floats_become_float32(value):
    t = Tensor(value)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(value, dtype=np.float32))


def test_float32_array_is_kept_and_not_copied():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(a)
    assert t.dtype == np.float32
    assert t.data is a


def test_float64_array_keeps_float64():
    a = np.linspace(0, 1, 5)
    t = Tensor(a)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, a)


def test_numpy_scalars_and_0d_results_keep_float64():
    """np.float64 subclasses Python's float, and ops on 0-d arrays return NumPy scalars:
    both must stay float64 (a regression: they used to become float32)."""
    assert Tensor(np.float64(1.5)).dtype == np.float64
    assert Tensor(np.float32(1.5)).dtype == np.float32
    a = Tensor(np.array(2.0), requires_grad=True)
    for y in (a * a, a + 1, a / 3, -a, a.exp(), a ** 2):
        assert y.dtype == np.float64 and y.shape == ()
    (a * a).backward()
    assert a.grad.dtype == np.float64 and a.grad == 4.0


def test_explicit_dtype_wins():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(3), dtype="float32").dtype == np.float32


@pytest.mark.parametrize("array", [np.arange(4, dtype=np.int64), np.arange(4, dtype=np.uint8),
                                   np.array([True, False, True]), [1, 2, 3]])
def test_integers_and_booleans_become_float32(array):
    t = Tensor(array)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(array).astype(np.float32))


@pytest.mark.parametrize("value, dtype_text", [(np.array(["a", "b"]), "<U1"),
                                               (["x", "yz"], "<U2"),
                                               (np.array([object(), 1], dtype=object), "object"),
                                               (np.array([1 + 2j]), "complex128")])
def test_strings_objects_and_complex_are_refused(value, dtype_text):
    with pytest.raises(TypeError) as info:
        Tensor(value)
    message = str(info.value)
    assert message.startswith("Tensor: cannot use an array of dtype " + dtype_text)
    assert f"(shape {np.asarray(value).shape})" in message
    assert "float32 or float64" in message


def test_integer_dtype_argument_is_refused():
    with pytest.raises(TypeError, match=r"Tensor: dtype must be a floating type, got int32"):
        Tensor([1.0], dtype=np.int32)


def test_tensor_from_tensor_shares_data():
    a = Tensor(np.ones(3))
    b = Tensor(a)
    assert b.data is a.data
    assert not b.requires_grad and b.grad is None


# ----- inspection -------------------------------------------------------------------------
def test_shape_ndim_size_len_item():
    t = Tensor(np.zeros((2, 3, 4)))
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 3, 4), 3, 24, 2)
    assert Tensor([[7.25]]).item() == 7.25


def test_numpy_returns_the_shared_array():
    t = Tensor(np.ones(4))
    arr = t.numpy()
    assert arr is t.data
    arr[0] = 5.0  # shared, not copied: the tensor sees the change
    assert t.data[0] == 5.0


def test_repr_of_leaf_and_computed_tensors():
    leaf = Tensor([1.0, 2.0], requires_grad=True)
    text = repr(leaf)
    assert text.startswith("Tensor([1. 2.]")
    assert "shape=(2,)" in text and "dtype=float32" in text and "requires_grad=True" in text
    plain = repr(Tensor(np.zeros((2, 2))))
    assert "shape=(2, 2)" in plain and "dtype=float64" in plain
    assert "requires_grad" not in plain and "grad_fn" not in plain
    computed = repr(leaf * 2)
    assert "grad_fn=Mul" in computed and "requires_grad" not in computed


def test_repr_summarises_large_tensors():
    text = repr(Tensor(np.arange(1000.0)))
    assert "..." in text and len(text) < 200 and "shape=(1000,)" in text


# ----- operators --------------------------------------------------------------------------
def test_operators_compute_the_numpy_results():
    r = np.random.default_rng(0)
    a, b = r.uniform(0.5, 2, size=(2, 3)), r.uniform(0.5, 2, size=(3,))
    x, y = Tensor(a), Tensor(b)
    cases = {
        "x + y": ((x + y), a + b), "x - y": ((x - y), a - b), "x * y": ((x * y), a * b),
        "x / y": ((x / y), a / b), "-x": ((-x), -a), "x ** 3": ((x ** 3), a ** 3),
        "2 + x": ((2 + x), 2 + a), "2 - x": ((2 - x), 2 - a), "2 * x": ((2 * x), 2 * a),
        "2 / x": ((2 / x), 2 / a), "x @ y[:, None]": ((x @ y.reshape(3, 1)), a @ b[:, None]),
        "x.T": (x.T, a.T), "x[1]": (x[1], a[1]), "x.sum(1)": (x.sum(axis=1), a.sum(axis=1)),
        "x.mean()": (x.mean(), a.mean()), "x.max(0)": (x.max(axis=0), a.max(axis=0)),
        "exp": (x.exp(), np.exp(a)), "log": (x.log(), np.log(a)), "tanh": (x.tanh(), np.tanh(a)),
        "reshape": (x.reshape(3, 2), a.reshape(3, 2)),
        "transpose": (x.transpose(1, 0), a.transpose(1, 0)),
    }
    for name, (got, expected) in cases.items():
        assert isinstance(got, Tensor), name
        assert got.dtype == np.float64, name
        np.testing.assert_allclose(got.data, expected, rtol=1e-12, err_msg=name)


def test_ndarray_on_the_left_gives_a_tensor():
    """``__array_priority__`` makes ``ndarray * Tensor`` call ``Tensor.__rmul__``."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_python_number_takes_the_tensors_dtype():
    x = Tensor(np.ones(2))  # float64
    assert (x + 1).dtype == np.float64
    assert (Tensor(np.ones(2, dtype=np.float32)) * 0.1).dtype == np.float32


def test_astype_casts_and_gradient_comes_back_in_the_original_dtype():
    x = Tensor(np.array([1.5, -2.0]), requires_grad=True)
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
