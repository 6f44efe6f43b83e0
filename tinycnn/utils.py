"""Small utilities with Keras's names: seeding, default names and one-hot labels."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

_generator = np.random.default_rng()
_name_counts: defaultdict = defaultdict(int)


def set_random_seed(seed: int) -> None:
    """Seed tinycnn's random stream (weight initialisation, dropout, shuffling).

    tinycnn never uses NumPy's global random state; every random draw comes from the
    ``numpy.random.Generator`` returned by :func:`rng`, which this call replaces.
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def rng() -> np.random.Generator:
    """The generator behind all of tinycnn's randomness."""
    return _generator


def to_categorical(y, num_classes=None, dtype="float32") -> np.ndarray:
    """One-hot encode integer labels: shape (n,) or (n, 1) -> (n, num_classes).

    A trailing dimension of 1 is dropped first (CIFAR-10's labels are shaped (n, 1)), as
    Keras does. ``num_classes`` defaults to max(y) + 1.
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if labels.dtype.kind == "f":
        if not np.all(labels == np.round(labels)):
            raise ValueError("to_categorical: labels must be whole numbers (class indices)")
    elif labels.dtype.kind not in "iub":
        raise TypeError(f"to_categorical: labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, found {labels.min()}")
    top = int(labels.max()) + 1 if labels.size else 0
    if num_classes is None:
        num_classes = top
    elif top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes}")
    out = np.zeros((*labels.shape, num_classes), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def unique_name(prefix: str) -> str:
    """Keras 3 numbering: the first layer of a kind is ``prefix``, then ``prefix_1``, ..."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Restart default layer and model numbering (``conv2d``, ``conv2d_1``, ...), as
    Keras's ``clear_session``."""
    _name_counts.clear()


class np_utils:  # noqa: N801 - the Keras 2 spelling: ``from keras.utils import np_utils``
    to_categorical = staticmethod(to_categorical)
