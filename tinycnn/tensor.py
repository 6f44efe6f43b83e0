"""The Tensor: a NumPy array plus what autograd needs (``requires_grad``, ``grad``, the node
that produced it).

Arithmetic on tensors builds the graph through the ops in :mod:`tinycnn.ops`; call
``loss.backward()`` to fill ``.grad`` of every leaf tensor that requires a gradient.
The operators (``+``, ``@``, ``x[i]``, ...) and the methods that mirror the functional API
(``x.sum()``, ``x.reshape(...)``, ...) are the functions of :mod:`tinycnn.functional`,
bound to the class there, so this module does not import the layer above it.
"""
from __future__ import annotations

import numpy as np

from . import autograd

FLOAT_TYPES = (np.float16, np.float32, np.float64)


def to_float_array(value, dtype=None, what: str = "tensor") -> np.ndarray:
    """Convert ``value`` to a floating NumPy array, as Keras does with its inputs.

    Floating arrays keep their precision (float32 by default, float64 for gradient checks)
    unless ``dtype`` is given; integers and booleans become float32. Strings, objects and
    complex numbers are refused with a TypeError naming ``what`` was being converted.
    """
    on_gpu = hasattr(value, "__cuda_array_interface__")  # a GPU tier's array stays where it is
    try:
        array = value if isinstance(value, np.ndarray) or on_gpu else np.asarray(value)
    except ValueError:  # NumPy's "inhomogeneous shape"
        raise ValueError(f"{what}: the data is a ragged list (its rows have different lengths or shapes); "
                         "give an array of one shape, e.g. np.stack(rows) of equal-sized rows") from None
    kind = array.dtype.kind
    if kind not in "fiub":
        raise TypeError(
            f"{what}: cannot use an array of dtype {array.dtype} (shape {array.shape}); "
            "tinycnn computes with float32 or float64 numbers"
        )
    if dtype is not None:
        target = np.dtype(dtype)
    elif kind == "f" and (isinstance(value, np.generic)
                          or not isinstance(value, (float, list, tuple))):
        # NumPy scalars keep their precision too: np.float64 subclasses float, and an op
        # on 0-d arrays returns one, so testing for float alone would turn it into float32.
        target = array.dtype
    else:
        target = np.dtype(np.float32)
    if target.kind != "f":
        raise TypeError(f"{what}: dtype must be a floating type, got {target}")
    return array.astype(target, copy=False)


def as_tensor(value, dtype=None) -> "Tensor":
    """Return ``value`` if it is a Tensor, else wrap it (without gradient)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, dtype=dtype)


class Tensor:
    """An n-dimensional float array that remembers how it was computed.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([[2., 4.]], dtype=float32)
    """

    __array_priority__ = 1000  # so that ndarray * Tensor calls Tensor.__rmul__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = to_float_array(data, dtype, what="Tensor")
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx = None  # the Function node that produced this tensor, if any

    # ----- inspection ---------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, threshold=20, edgeitems=2,
                               prefix="Tensor(")
        extras = [f"shape={self.shape}", f"dtype={self.dtype}"]
        if self._ctx is not None:
            extras.append(f"grad_fn={type(self._ctx).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"Tensor({body}, {', '.join(extras)})"

    # ----- autograd -----------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Fill ``.grad`` of the leaves this tensor depends on (see autograd.backward)."""
        autograd.backward(self, grad)

    def detach(self) -> "Tensor":
        """The same values, cut from the graph (shares memory)."""
        return Tensor(self.data)

    def zero_grad(self) -> None:
        self.grad = None
