"""Loss objects: Keras's losses as callables returning the scalar training loss.

``loss(y_true, y_pred)`` is the mean over the batch (over every element of the per-sample
loss array, Keras's ``sum_over_batch_size``) of the per-sample loss from
:mod:`tinycnn.functional`. With ``sample_weight`` the per-sample losses are weighted first
and the sum is still divided by the number of samples, as Keras 3 does.

The module-level functions (``categorical_crossentropy``, ``mse``, ...) are the per-sample
losses, so Keras code that passes ``loss=keras.losses.categorical_crossentropy`` works;
:func:`get` turns them into the matching loss object.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from .functional import (binary_crossentropy, categorical_crossentropy, mean_absolute_error,
                         mean_squared_error, sparse_categorical_crossentropy)
from .tensor import Tensor

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """Base class: subclasses define ``name`` and ``per_sample(y_true, y_pred)``."""

    name = "loss"

    def __init__(self, name=None):
        if name is not None:
            self.name = name

    def per_sample(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        return _reduce(self.per_sample(y_true, y_pred), sample_weight, self.name)

    def get_config(self) -> dict:
        return {"class_name": type(self).__name__, "name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config.pop("class_name", None)
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _reduce(per_sample: Tensor, sample_weight, name) -> Tensor:
    """mean(per_sample) or sum(per_sample * sample_weight) / per_sample.size."""
    if sample_weight is None:
        return F.mean(per_sample)
    weights = np.asarray(sample_weight, dtype=per_sample.dtype)
    if weights.ndim == per_sample.ndim + 1 and weights.shape[-1] == 1:
        weights = weights[..., 0]
    try:
        np.broadcast_to(weights, per_sample.shape)
    except ValueError:
        raise ValueError(f"{name}: sample_weight of shape {weights.shape} does not fit the "
                         f"per-sample losses of shape {per_sample.shape}") from None
    return F.sum(per_sample * weights) / float(per_sample.size)


class _FromLogitsLoss(Loss):
    def __init__(self, from_logits=False, name=None):
        super().__init__(name)
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class CategoricalCrossentropy(_FromLogitsLoss):
    """One-hot targets: ``-sum(y * log(p))`` with p normalised and clipped to
    [1e-7, 1 - 1e-7] (or computed from logits when ``from_logits``).

    ``label_smoothing`` = s (Keras's argument) trains on ``y (1 - s) + s / K`` for K
    classes: the right class is asked for ``1 - s + s / K``, every other one for ``s / K``,
    so the logits stop growing once they are ``log((1 - s + s/K) / (s/K))`` apart."""

    name = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, name=None):
        super().__init__(from_logits, name)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
                or not 0 <= label_smoothing <= 1:
            raise ValueError(f"CategoricalCrossentropy: label_smoothing must be a number in [0, 1], "
                             f"got {label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def per_sample(self, y_true, y_pred):
        if self.label_smoothing:
            y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
            s = y.dtype.type(self.label_smoothing) if y.dtype.kind == "f" else self.label_smoothing
            y_true = y * (1 - s) + s / y.shape[-1]
        return categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}

    def __repr__(self):
        return f"CategoricalCrossentropy(from_logits={self.from_logits}, label_smoothing={self.label_smoothing})"


class SparseCategoricalCrossentropy(_FromLogitsLoss):
    """Integer labels, shape (n,) or (n, 1): ``-log(p[label])`` (p clipped to
    [1e-7, 1 - 1e-7] and renormalised, or from logits)."""

    name = "sparse_categorical_crossentropy"

    def per_sample(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, from_logits=self.from_logits)


class BinaryCrossentropy(_FromLogitsLoss):
    """Mean over the last axis of ``-(y log p + (1 - y) log(1 - p))``, p clipped to
    [1e-7, 1 - 1e-7] (or from logits)."""

    name = "binary_crossentropy"

    def per_sample(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, from_logits=self.from_logits)


class MeanSquaredError(Loss):
    """Mean over the last axis of ``(y_pred - y_true)^2``."""

    name = "mean_squared_error"

    def per_sample(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """Mean over the last axis of ``|y_pred - y_true|``."""

    name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class LossFunctionWrapper(Loss):
    """A plain function ``f(y_true, y_pred) -> per-sample Tensor`` as a loss object,
    named after the function."""

    def __init__(self, fn, name=None):
        super().__init__(name or getattr(fn, "__name__", "loss"))
        self.fn = fn

    def per_sample(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        if not isinstance(out, Tensor):
            raise TypeError(f"loss function {self.name!r} must return a Tensor (built from "
                            f"y_pred with tinycnn operations, so it can be differentiated), "
                            f"got {type(out).__name__}")
        return out

    def get_config(self):
        raise TypeError(f"loss function {self.name!r} is a plain Python function and cannot be "
                        "serialised; subclass tinycnn.losses.Loss to make it serialisable")


_CLASSES = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
            MeanSquaredError, MeanAbsoluteError)
_BY_NAME = {cls.name: cls for cls in _CLASSES}
_BY_NAME.update({cls.__name__: cls for cls in _CLASSES})
_BY_NAME.update({"mse": MeanSquaredError, "MSE": MeanSquaredError,
                 "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError})
_BY_FUNCTION = {categorical_crossentropy: CategoricalCrossentropy,
                sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
                binary_crossentropy: BinaryCrossentropy,
                mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError}


def from_config(config: dict) -> Loss:
    """A loss from :meth:`Loss.get_config`'s dict (or Keras's ``{'class_name', 'config'}``)."""
    if not isinstance(config, dict) or config.get("class_name") not in _BY_NAME:
        raise ValueError(f"losses.from_config: expected a dict whose 'class_name' is one of "
                         f"{[c.__name__ for c in _CLASSES]}, got {config!r}")
    arguments = config["config"] if isinstance(config.get("config"), dict) else \
        {k: v for k, v in config.items() if k != "class_name"}
    return _BY_NAME[config["class_name"]](**arguments)


def get(identifier) -> Loss:
    """A loss object from a name (``'categorical_crossentropy'``, ``'mse'``, ...), a loss
    object (returned as is), a config dict or a function ``f(y_true, y_pred)`` returning
    per-sample losses (tinycnn's own functions map to their loss objects)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier)
        if cls is None:
            valid = ", ".join(repr(n) for n in _BY_NAME if not n[0].isupper())
            raise ValueError(f"Unknown loss {identifier!r}; valid names are {valid} "
                             "(or the class names, e.g. 'CategoricalCrossentropy')")
        return cls()
    if isinstance(identifier, dict):
        return from_config(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _BY_FUNCTION.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss {identifier!r}: pass a loss name, a loss object "
                     "or a function f(y_true, y_pred)")
