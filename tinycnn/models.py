"""``Sequential``: a linear stack of layers.

This class is what the network *is*: its layers, their shapes and weights, its summary and
config. How it runs is :mod:`tinycnn.plan` (which layers run as one step), how it is
trained is :class:`tinycnn.training.Trainer` (compile / fit / evaluate / predict, inherited
as Keras's ``Model`` inherits its trainer), and its files are :mod:`tinycnn.saving`.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import layers as layers_mod
from . import plan, saving
from .kernels.threads import blas_scope
from .layers.base import Layer, shape_str
from .layers.core import InputLayer
from .summary import print_summary
from .tensor import Tensor, to_float_array
from .training import Trainer
from .utils import unique_name


class Sequential(Trainer):
    """A linear stack of layers, built as soon as the input shape is known."""

    def __init__(self, layers=None, name=None):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        for layer in layers or []:
            self.add(layer)

    # ----- structure ---------------------------------------------------------------------
    def add(self, layer) -> None:
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("Sequential.add: an Input can only be the first element of the model")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a layer, got {type(layer).__name__}")
        self._layers.append(layer)
        shape = self._declared_input_shape()
        if shape is not None:  # build every layer whose input shape is now known, as Keras
            self.build(shape)

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.requested_input_shape
        return self._layers[0].requested_input_shape if self._layers else None

    def build(self, input_shape) -> None:
        """Build for inputs of ``input_shape`` (batch axis first, may be None)."""
        shape = (None, *tuple(input_shape)[1:])
        for layer in self._layers:
            shape = layer.ensure_built(shape)

    @property
    def built(self) -> bool:
        return bool(self._layers) and all(layer.built for layer in self._layers)

    @property
    def input_shape(self):
        if self._declared_input_shape() is not None:
            return self._declared_input_shape()
        return self._layers[0].input_shape if self.built else None

    @property
    def output_shape(self):
        return self._layers[-1].output_shape if self.built else None

    def _require_built(self, what: str) -> None:
        if not self._layers:
            raise ValueError(f"{what}: the model has no layers yet")
        if not self.built:
            raise ValueError(f"{what}: the model is not built yet; give the first layer an "
                             "input_shape, start with Input(shape=...), or call the model on data")

    # ----- running ---------------------------------------------------------------------
    def _check_inputs(self, x, what: str) -> np.ndarray:
        x = x.data if isinstance(x, Tensor) else to_float_array(x, dtype=np.float32, what=what)
        expected = self.input_shape
        if expected is not None and tuple(x.shape[1:]) != tuple(expected[1:]):
            hint = ""
            if tuple(x.shape[1:]) + (1,) == tuple(expected[1:]):
                hint = " (add the channel axis: x[..., None] or x.reshape(-1, *shape, 1))"
            raise ValueError(f'{what}: model "{self.name}" expects input of shape '
                             f"{shape_str(expected)}, got data of shape {x.shape}{hint}")
        if not self.built:
            self.build(x.shape)
        return x

    def __call__(self, x, training=False) -> Tensor:
        """The model's output for ``x``; a Tensor input keeps its graph."""
        if isinstance(x, Tensor):
            return plan.run(plan.steps(self._layers), x, training)
        x = self._check_inputs(x, "call")
        return plan.run(plan.for_model(self), plan.batch(x), training)

    def predict_classes(self, x, batch_size=32, verbose=0) -> np.ndarray:
        """Keras 2's class indices: the argmax of each output, or ``output > 0.5`` for a
        single (sigmoid) output."""
        warnings.warn("`model.predict_classes()` is deprecated; use `np.argmax(model.predict(x), axis=-1)` "
                      "(softmax output) or `(model.predict(x) > 0.5).astype('int32')` (sigmoid output)",
                      UserWarning, stacklevel=2)
        probabilities = self.predict(x, batch_size=batch_size, verbose=verbose)
        if probabilities.shape[-1] > 1:
            return probabilities.argmax(axis=-1)
        return (probabilities > 0.5).astype("int32")

    def plan(self, print_fn=None) -> list:
        """Print (and return) the steps the model runs, fusions shown (see :mod:`tinycnn.plan`)."""
        lines = plan.describe(plan.steps(self._layers))
        for line in lines:
            (print_fn or print)(line)
        return lines

    # ----- weights -----------------------------------------------------------------------
    @property
    def weights(self) -> list:
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list:
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list:
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list:
        return [w for layer in self._layers for w in layer.get_weights()]

    def set_weights(self, arrays) -> None:
        arrays = list(arrays)
        self._require_built("set_weights")
        expected = sum(len(layer.weights) for layer in self._layers)
        if len(arrays) != expected:
            raise ValueError(f'set_weights: model "{self.name}" has {expected} weight arrays, got {len(arrays)}')
        position = 0
        for layer in self._layers:
            count = len(layer.weights)
            layer.set_weights(arrays[position:position + count])
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self._layers)

    @blas_scope
    def profile(self, x, repeats=3, print_fn=None) -> list:
        """Per-layer output shape, im2col size, FLOPs and forward/backward time on batch
        ``x`` in the current kernel tier (see :mod:`tinycnn.profiling`)."""
        from .profiling import profile
        return profile(self, self._check_inputs(x, "profile"), repeats, print_fn or print)

    def summary(self, print_fn=None) -> None:
        """Print Keras's table: layer (type), output shape, parameter count, and totals."""
        self._require_built("summary")
        print_summary(self, print_fn or print)

    # ----- configuration and files -------------------------------------------------------
    def get_config(self) -> dict:
        layers = ([{"class_name": "InputLayer", "config": self._input_layer.get_config()}]
                  if self._input_layer is not None else [])
        layers += [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._layers]
        return {"name": self.name, "layers": layers}

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        model = cls(name=config.get("name"))
        for entry in config["layers"]:
            layer_cls = getattr(layers_mod, entry["class_name"], None)
            if layer_cls is None or not isinstance(layer_cls, type):
                raise ValueError(f"load_model: unknown layer type {entry['class_name']!r}")
            model.add(layer_cls.from_config(entry["config"]))
        return model

    def save(self, filepath) -> None:
        """The whole model: Keras's legacy HDF5 for a ``.h5`` / ``.hdf5`` name, Keras 3's zip
        for ``.keras``, else tinycnn's ``.npz`` archive with compile settings and optimizer
        state (see :func:`tinycnn.saving.save_model`)."""
        self._require_built("save")
        saving.save_model(self, filepath)

    def save_weights(self, filepath) -> None:
        """All weights; Keras 3's HDF5 layout for a ``.h5`` / ``.hdf5`` name, else ``.npz``
        (see :func:`tinycnn.saving.save_weights`)."""
        self._require_built("save_weights")
        saving.save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        """Weights from tinycnn's or Keras's files (see :func:`tinycnn.saving.load_weights`)."""
        self._require_built("load_weights")
        saving.load_weights(self, filepath)


def load_model(filepath) -> Sequential:
    """Rebuild a model written by ``model.save``: architecture, weights, and (when it was
    compiled) optimizer, loss, metrics and optimizer state."""
    return saving.load_model(filepath, Sequential)
