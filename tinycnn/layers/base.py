"""The Layer base class: parameters, building, naming, weights in Keras's order."""
from __future__ import annotations

import re
import numpy as np

from .. import constraints as constraints_mod
from .. import graph, initializers, regularizers
from ..utils import unique_name
from ..ops import device
from ..tensor import Tensor

def snake_case(name: str) -> str:
    """``MaxPooling2D`` -> ``max_pooling2d``, ``ReLU`` -> ``re_lu`` (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def check_channels_last(data_format, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' (NHWC) is supported, got {data_format!r}")


def batchless(shape):
    """``shape`` (or each shape of a list) with its batch axis as None, as a tuple."""
    if shape and isinstance(shape[0], (list, tuple)):
        return [(None, *tuple(s)[1:]) for s in shape]
    return (None, *tuple(shape)[1:])


def shape_str(shape) -> str:
    if shape and isinstance(shape[0], (list, tuple)):
        return "[" + ", ".join(shape_str(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Layer:
    """A Keras-style layer.

    Subclasses implement ``build(input_shape)`` (create weights with :meth:`add_weight`),
    ``call(x, training)`` (compose ops from :mod:`tinycnn.functional`) and
    ``compute_output_shape(input_shape)``; shapes include the batch axis as ``None``.
    """

    def __init__(self, name=None, input_shape=None, batch_input_shape=None, input_dim=None,
                 trainable=True, dtype="float32"):
        self.name = name or unique_name(snake_case(type(self).__name__))
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_shape is not None and any(int(d) < 1 for d in input_shape):
            raise ValueError(f"{type(self).__name__}: every axis of input_shape must be at least 1, got "
                             f"{tuple(input_shape)}")
        self.requested_input_shape = None if input_shape is None else (None, *input_shape)
        self.trainable = trainable
        self.dtype = np.dtype(dtype)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._weights: list[Tensor] = []
        self._regularized: list[tuple] = []
        self._inbound_nodes: list = []  # graph.Node per call on symbolic tensors

    # ----- building ----------------------------------------------------------------
    def add_weight(self, name, shape, initializer, trainable=True, regularizer=None, constraint=None):
        """Create a parameter tensor ``<layer>/<name>`` initialised by ``initializer``."""
        data = initializers.get(initializer)(tuple(shape), self.dtype)
        weight = Tensor(data, requires_grad=trainable, name=f"{self.name}/{name}")
        weight.trainable = trainable
        weight.constraint = constraints_mod.get(constraint)
        self._weights.append(weight)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._regularized.append((regularizer, weight))
        return weight

    def set_weight_options(self, **options) -> None:
        """Keep the initializers, regularizers and constraints of the layer's weights (keyword
        names end in ``_initializer``, ``_regularizer``, ``_constraint``), each checked now,
        so a wrong name fails where it was written, as in Keras."""
        check = {"initializer": initializers.get, "regularizer": regularizers.get,
                 "constraint": constraints_mod.get}
        for key, value in options.items():
            try:
                check[key.rpartition("_")[2]](value)
            except ValueError as err:
                raise ValueError(f"{type(self).__name__}: {key}: {err}") from None
            setattr(self, key, value)

    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (no weights by default)."""

    def compute_output_shape(self, input_shape):
        return input_shape

    def ensure_built(self, input_shape) -> tuple:
        """Build on first use and return the output shape; later inputs must match.
        ``input_shape`` is one shape, or a list of shapes for a layer of several inputs."""
        input_shape = batchless(input_shape)
        for shape in input_shape if isinstance(input_shape, list) else [input_shape]:
            if any(d == 0 for d in shape[1:]):
                raise ValueError(f'Input of layer "{self.name}" has an empty axis: shape {shape_str(shape)}; '
                                 "every axis but the batch must be at least 1")
        if not self.built:
            self.build(input_shape)
            self.input_shape = input_shape
            self.output_shape = tuple(self.compute_output_shape(input_shape))
            self.built = True
        elif input_shape != self.input_shape:
            raise ValueError(
                f'Input of layer "{self.name}" is incompatible with the layer: expected shape='
                f"{shape_str(self.input_shape)}, found shape={shape_str(input_shape)}")
        return self.output_shape

    # ----- running -----------------------------------------------------------------
    def __call__(self, x, training=False):
        """The layer applied to ``x``: values for a Tensor or array (a list of them for a
        layer of several inputs); a symbolic output for symbolic input (:mod:`tinycnn.graph`)."""
        if graph.is_symbolic(x):
            return graph.call(self, x)
        if isinstance(x, (list, tuple)):
            x = [t if isinstance(t, Tensor) else Tensor(t, dtype=self.dtype) for t in x]
            self.ensure_built([t.shape for t in x])
        else:
            x = x if isinstance(x, Tensor) else Tensor(x, dtype=self.dtype)
            self.ensure_built(x.shape)
        return self.call(x, training=training)

    def call(self, x, training=False):  # pragma: no cover - interface
        raise NotImplementedError

    # ----- place in a graph (Keras's layer.input / layer.output) -----------------------
    @property
    def input(self):
        """The symbolic input(s) of the layer's first call on symbolic tensors."""
        node = self._first_node("input")
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    @property
    def output(self):
        """The symbolic output of the layer's first call on symbolic tensors."""
        return self._first_node("output").outputs[0]

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f'layer "{self.name}" has no {what} yet: it has not been called on a '
                                 "symbolic tensor; use it in a built model or call it on Input(shape=...)")
        return self._inbound_nodes[0]

    # ----- weights -----------------------------------------------------------------
    @property
    def weights(self) -> list:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list:
        return [w for w in self._weights if w.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self._weights if not (w.trainable and self.trainable)]

    def get_weights(self) -> list:
        return [np.array(device.to_host(w.data)) for w in self._weights]

    def set_weights(self, arrays) -> None:
        arrays = list(arrays)
        expected = [w.shape for w in self._weights]
        given = [tuple(np.shape(a)) for a in arrays]
        if expected != given:
            raise ValueError(f'set_weights: layer "{self.name}" ({type(self).__name__}) expects '
                             f"weights of shapes {expected}, got {given}")
        for w, a in zip(self._weights, arrays):
            w.data[...] = device.to_device(np.asarray(a, dtype=w.dtype))  # on the weight's device

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights))

    def regularization_losses(self) -> list:
        return [reg(w) for reg, w in self._regularized]

    # ----- configuration (architecture saving) -----------------------------------------
    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self.requested_input_shape is not None:
            config["input_shape"] = list(self.requested_input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def serialize(obj):
    """A JSON-able description of an initializer / constraint / regularizer (or None)."""
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "get_config"):
        return obj.get_config()
    raise ValueError(f"cannot save {obj!r}: custom objects have no config; pass a name instead")
