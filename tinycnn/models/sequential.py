"""``Sequential``: a linear stack of layers, a :class:`Model` whose graph is one chain.

The layers are connected (called on a symbolic input, :mod:`tinycnn.graph`) as soon as the
input shape is known: from an ``Input``, from the first layer's ``input_shape``, or from
the first data the model sees, as Keras builds a Sequential. Everything else (running,
weights, summary, files, training) is the Model's.
"""
from __future__ import annotations

from .. import graph
from ..layers.base import Layer
from ..layers.core import InputLayer
from ..utils import unique_name
from .model import Model, check_array, layer_from_entry


class Sequential(Model):
    """A linear stack of layers, built as soon as the input shape is known."""

    config_kind = "Sequential"

    def __init__(self, layers=None, name=None):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None  # a declared Input, if any
        self.inputs = self.outputs = None
        self.nodes, self._as_lists = [], (False, False)
        for layer in layers or []:
            self.add(layer)

    # ----- structure ---------------------------------------------------------------------
    def add(self, layer) -> None:
        """Append ``layer`` (or start the stack with an ``Input``), connecting it at once
        when the input shape is known."""
        if isinstance(layer, graph.SymbolicTensor):
            if layer.node.inputs:
                raise ValueError("Sequential.add: only a tensor from Input(shape=...) can start a Sequential "
                                 f'model; {layer!r} is the output of layer "{layer.node.layer.name}"')
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("Sequential.add: an Input can only be the first element of the model")
            self._input_layer = layer
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a layer, got {type(layer).__name__}")
        self._layers.append(layer)
        if self.outputs is not None:
            self._connect(self.inputs[0], layer(self.outputs[0]))
        elif self._declared_input_shape() is not None:  # build as soon as the shape is known, as Keras
            self.build(self._declared_input_shape())

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.requested_input_shape
        return self._layers[0].requested_input_shape if self._layers else None

    def build(self, input_shape) -> None:
        """Connect the layers for inputs of ``input_shape`` (batch axis first, may be None)."""
        if self.outputs is not None:
            return super().build(input_shape)
        if self._input_layer is None:  # Keras's hidden input layer
            start = graph.input_tensor(InputLayer(tuple(input_shape)[1:], name=unique_name("input_layer")))
        else:
            start = graph.input_of(self._input_layer)
        h = start
        for layer in self._layers:
            h = layer(h)
        self._connect(start, h)

    @property
    def built(self) -> bool:
        return self.outputs is not None

    @property
    def input_shape(self):
        return self._declared_input_shape() or (super().input_shape if self.built else None)

    @property
    def output_shape(self):
        return super().output_shape if self.built else None

    def _require_built(self, what: str) -> None:
        if not self._layers:
            raise ValueError(f"{what}: the model has no layers yet")
        if not self.built:
            raise ValueError(f"{what}: the model is not built yet; give the first layer an "
                             "input_shape, start with Input(shape=...), or call the model on data")

    def _structure(self, items, outputs: bool):
        if not self.built:
            raise AttributeError(f'Sequential model "{self.name}" has no {("input", "output")[outputs]} yet: '
                                 "it is built when its input shape is known")
        return super()._structure(items, outputs)

    def _check_inputs(self, x, what: str):
        if self.built:
            return super()._check_inputs(x, what)
        if not self._layers:
            raise ValueError(f"{what}: the model has no layers yet")
        x = check_array(x, None, what, self.name)
        self.build(x.shape)
        return x

    # ----- configuration -----------------------------------------------------------------
    def get_config(self) -> dict:
        layers = ([{"class_name": "InputLayer", "config": self._input_layer.get_config()}]
                  if self._input_layer is not None else [])
        layers += [{"class_name": type(layer).__name__, "config": layer.get_config()} for layer in self._layers]
        config = {"name": self.name, "layers": layers}
        if self.built:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Sequential":
        model = cls(name=config.get("name"))
        for entry in config["layers"]:
            model.add(layer_from_entry(entry))
        if config.get("build_input_shape") and not model.built:
            model.build(tuple(config["build_input_shape"]))
        return model
