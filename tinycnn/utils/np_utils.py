"""Keras 2's ``keras.utils.np_utils``: one-hot labels."""
from __future__ import annotations

import numpy as np


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
