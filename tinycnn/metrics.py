"""Metrics: per-sample scores on NumPy arrays, which the model averages over each epoch.

A metric is an object with a ``name`` (the key in the training logs) and
``metric(y_true, y_pred) -> ndarray`` of per-sample values. The module-level functions are
Keras's metric functions on NumPy arrays.

``'accuracy'`` (or ``'acc'``) means a different metric for different targets. Keras 3 picks
it from the shapes: one output column -> binary accuracy; integer labels (targets with
fewer axes than the predictions, or one column against several) -> sparse categorical
accuracy; otherwise categorical accuracy. The log keeps the name the user wrote.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from . import losses
from .autograd import no_grad
from .tensor import Tensor


def _arrays(y_true, y_pred):
    y_true = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    y_pred = y_pred.data if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    return y_true, y_pred


def _labels(y_true, y_pred, op):
    """Integer labels with the shape of ``y_pred`` minus its class axis."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"{op}: integer labels must have shape {y_pred.shape[:-1]} (or with a "
                         f"trailing 1) for predictions of shape {y_pred.shape}, got {y_true.shape}")
    return y_true.astype(np.int64)


def _same_shape(y_true, y_pred, op):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{op}: targets have shape {y_true.shape} but predictions have shape "
                         f"{y_pred.shape}; they must match (for integer labels use the sparse "
                         "metric)")


def categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == argmax(y_true)`` (one-hot targets), else 0.0."""
    y_true, y_pred = _arrays(y_true, y_pred)
    _same_shape(y_true, y_pred, "categorical_accuracy")
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where ``argmax(y_pred) == label`` (labels shaped (n,) or (n, 1)), else 0.0."""
    y_true, y_pred = _arrays(y_true, y_pred)
    labels = _labels(y_true, y_pred, "sparse_categorical_accuracy")
    return (np.argmax(y_pred, axis=-1) == labels).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of ``(y_pred > threshold) == y_true``."""
    y_true, y_pred = _arrays(y_true, y_pred)
    _same_shape(y_true, y_pred, "binary_accuracy")
    return np.mean(y_true == (y_pred > threshold), axis=-1, dtype=np.float32)


def _in_top_k(labels, y_pred, k):
    """TensorFlow's ``in_top_k``: the label's score is beaten by fewer than k classes (ties
    at the boundary count as in), and non-finite scores never are."""
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    beaten_by = np.sum(y_pred > target, axis=-1)
    finite = np.all(np.isfinite(y_pred), axis=-1)
    return ((beaten_by < k) & finite).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the true class (argmax of the one-hot target) is among the k highest scores."""
    y_true, y_pred = _arrays(y_true, y_pred)
    _same_shape(y_true, y_pred, "top_k_categorical_accuracy")
    return _in_top_k(np.argmax(y_true, axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the k highest scores."""
    y_true, y_pred = _arrays(y_true, y_pred)
    return _in_top_k(_labels(y_true, y_pred, "sparse_top_k_categorical_accuracy"), y_pred, k)


def _loss_metric(loss_fn):
    """A per-sample loss from :mod:`tinycnn.functional` as a metric on arrays."""
    def metric(y_true, y_pred):
        y_true, y_pred = _arrays(y_true, y_pred)
        with no_grad():
            return loss_fn(y_true, y_pred).data
    metric.__name__ = loss_fn.__name__
    return metric


mean_squared_error = mse = _loss_metric(F.mean_squared_error)
mean_absolute_error = mae = _loss_metric(F.mean_absolute_error)
categorical_crossentropy = _loss_metric(F.categorical_crossentropy)
sparse_categorical_crossentropy = _loss_metric(F.sparse_categorical_crossentropy)
binary_crossentropy = _loss_metric(F.binary_crossentropy)


class MeanMetricWrapper:
    """A function ``fn(y_true, y_pred, **kwargs) -> per-sample values`` as a named metric."""

    def __init__(self, fn, name=None, **kwargs):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "metric")
        self.kwargs = kwargs

    def __call__(self, y_true, y_pred) -> np.ndarray:
        out = self.fn(y_true, y_pred, **self.kwargs)
        return np.asarray(out.data if isinstance(out, Tensor) else out)

    def __repr__(self):
        fn = getattr(self.fn, "__name__", self.fn)
        return f"{type(self).__name__}({fn!r}, name={self.name!r})"


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy"):
        super().__init__(categorical_accuracy, name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(sparse_categorical_accuracy, name)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", threshold=0.5):
        super().__init__(binary_accuracy, name, threshold=threshold)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="top_k_categorical_accuracy"):
        super().__init__(top_k_categorical_accuracy, name, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy"):
        super().__init__(sparse_top_k_categorical_accuracy, name, k=k)


def accuracy_function_for(y_true_shape, y_pred_shape):
    """Keras 3's choice behind ``'accuracy'``, from the shapes of targets and predictions."""
    if y_pred_shape[-1] == 1:
        return binary_accuracy
    if len(y_true_shape) < len(y_pred_shape) or y_true_shape[-1] == 1:
        return sparse_categorical_accuracy
    return categorical_accuracy


class Accuracy(MeanMetricWrapper):
    """``'accuracy'``: the accuracy that fits the targets, chosen on the first call from the
    shapes (:func:`accuracy_function_for`) unless the loss already fixed it."""

    def __init__(self, name="accuracy", fn=None):
        super().__init__(fn, name)

    def __call__(self, y_true, y_pred):
        if self.fn is None:
            self.fn = accuracy_function_for(np.shape(y_true), np.shape(y_pred))
        return super().__call__(y_true, y_pred)


# The loss that settles what 'accuracy' means, whatever the shapes. Binary cross-entropy is
# not here: with several output columns Keras 3 reports categorical accuracy for it.
_ACCURACY_FOR_LOSS = {"categorical_crossentropy": categorical_accuracy,
                      "sparse_categorical_crossentropy": sparse_categorical_accuracy}

_BY_NAME = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
}
_FUNCTIONS = {fn.__name__: fn for fn in (mean_squared_error, mean_absolute_error,
                                          categorical_crossentropy,
                                          sparse_categorical_crossentropy, binary_crossentropy)}
_FUNCTIONS.update(mse=mean_squared_error, mae=mean_absolute_error)


def get(identifier, loss=None):
    """A metric from a name, a metric object or a function ``f(y_true, y_pred)``.

    ``'accuracy'``/``'acc'`` (any case) become the accuracy that fits the loss (categorical
    or sparse categorical cross-entropy) or, for any other loss, the targets' shapes; the
    metric keeps the name as written, so logs say ``accuracy`` or ``acc``.
    """
    if isinstance(identifier, MeanMetricWrapper):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return Accuracy(identifier, _ACCURACY_FOR_LOSS.get(_loss_name(loss)))
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        if identifier in _FUNCTIONS:
            return MeanMetricWrapper(_FUNCTIONS[identifier], identifier)
        valid = ", ".join(repr(n) for n in ["accuracy", "acc", *_BY_NAME, *_FUNCTIONS])
        raise ValueError(f"Unknown metric {identifier!r}; valid names are {valid}")
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Could not interpret metric {identifier!r}: pass a metric name, a metric "
                     "object or a function f(y_true, y_pred)")


def _loss_name(loss):
    """The Keras name of ``loss`` (a name, loss object or loss function), or None when it
    is not one tinycnn knows (compile reports a bad loss itself)."""
    if loss is None:
        return None
    try:
        return losses.get(loss).name
    except ValueError:
        return None
