"""``Model(inputs, outputs)``: a graph of layers, Keras's functional API.

::

    x = Input(shape=(32, 32, 3))
    h = Conv2D(16, 3, padding="same", activation="relu")(x)
    r = Conv2D(16, 3, padding="same")(h)
    y = Dense(10, activation="softmax")(Flatten()(Add()([h, r])))   # a residual connection
    model = Model(inputs=x, outputs=y)

The graph is the nodes between ``inputs`` and ``outputs`` (:func:`tinycnn.graph.nodes_between`);
:mod:`tinycnn.plan` turns it into chains of fused steps, :class:`tinycnn.training.Trainer`
(inherited) trains it, and :mod:`tinycnn.saving` writes it. :class:`Sequential` is a Model
whose graph is one chain.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import graph, plan, saving
from ..kernels.threads import blas_scope
from ..layers.base import shape_str
from ..summary import print_summary
from ..tensor import Tensor, to_float_array
from ..training import Trainer
from ..utils import unique_name


def check_array(x, expected, what: str, model_name: str) -> np.ndarray:
    """``x`` as a float32 array whose sample shape is ``expected`` (a shape with its batch
    axis, or None to accept any); the error says how to fix a missing channel axis."""
    x = x.data if isinstance(x, Tensor) else to_float_array(x, dtype=np.float32, what=what)
    if x.ndim < 2 or 0 in x.shape[1:]:
        raise ValueError(f'{what}: model "{model_name}" got data of shape {x.shape}: it needs a batch axis '
                         "and at least one value along every other axis")
    if expected is not None and tuple(x.shape[1:]) != tuple(expected[1:]):
        hint = ""
        if tuple(x.shape[1:]) + (1,) == tuple(expected[1:]):
            hint = " (add the channel axis: x[..., None] or x.reshape(-1, *shape, 1))"
        raise ValueError(f'{what}: model "{model_name}" expects input of shape '
                         f"{shape_str(expected)}, got data of shape {x.shape}{hint}")
    return x


def layer_from_entry(entry: dict):
    """The layer a config entry ``{"class_name": ..., "config": {...}}`` describes."""
    from .. import layers as layers_mod
    layer_cls = getattr(layers_mod, entry["class_name"], None)
    if layer_cls is None or not isinstance(layer_cls, type):
        raise ValueError(f"load_model: unknown layer type {entry['class_name']!r}")
    return layer_cls.from_config(entry["config"])


class Model(Trainer):
    """The layers between symbolic ``inputs`` (from :func:`tinycnn.layers.Input`) and
    ``outputs`` (a tensor or a list of tensors), run, trained and saved as one model."""

    config_kind = "Functional"  # Keras's name for a config of this kind (files say which class reads them)

    def __init__(self, inputs=None, outputs=None, name=None):
        if inputs is None or outputs is None:
            raise TypeError("Model: give inputs= and outputs= (symbolic tensors: x = Input(shape=...), "
                            "y = layer(x), Model(inputs=x, outputs=y)); for a stack of layers use Sequential")
        self.name = name or unique_name("functional")
        self._connect(inputs, outputs)

    def _connect(self, inputs, outputs) -> None:
        """Take the graph from ``inputs`` to ``outputs`` (each a tensor or a list)."""
        self._as_lists = (isinstance(inputs, (list, tuple)), isinstance(outputs, (list, tuple)))
        self.inputs, self.outputs = _tensors(inputs, "inputs"), _tensors(outputs, "outputs")
        for tensor in self.inputs:
            if tensor.node.inputs:
                raise ValueError(f"Model: inputs must be tensors made by Input(shape=...); {tensor!r} is the "
                                 f'output of layer "{tensor.node.layer.name}"')
        self.nodes = graph.nodes_between(self.inputs, self.outputs)

    # ----- structure ---------------------------------------------------------------------
    @property
    def layers(self) -> list:
        """Every layer of the graph once, input layers included, in the order of its nodes."""
        layers, seen = [], set()
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        return layers

    built = True

    def build(self, input_shape) -> None:
        """Check ``input_shape`` against the model's input (a functional model is built
        when it is made)."""
        expected = self.input_shape
        if not self._as_lists[0] and tuple(input_shape[1:]) != tuple(expected[1:]):
            raise ValueError(f'build: model "{self.name}" takes inputs of shape {shape_str(expected)}, '
                             f"not {shape_str(input_shape)}")

    def _structure(self, items, outputs: bool):
        """``items`` (one per input or output) as the model was given them: a list, or one."""
        return list(items) if self._as_lists[outputs] else items[0]

    @property
    def input(self):
        return self._structure(self.inputs, False)

    @property
    def output(self):
        return self._structure(self.outputs, True)

    @property
    def input_shape(self):
        return self._structure([t.shape for t in self.inputs], False)

    @property
    def output_shape(self):
        return self._structure([t.shape for t in self.outputs], True)

    def _require_built(self, what: str) -> None:
        """A functional model always is; Sequential checks."""

    # ----- running -----------------------------------------------------------------------
    def _check_inputs(self, x, what: str):
        """``x`` checked against the model's inputs: an array, or for a model of several
        inputs a list of arrays (one per input, with the same number of samples)."""
        if len(self.inputs) == 1:
            return check_array(x, self.inputs[0].shape, what, self.name)
        names = [t.name for t in self.inputs]
        if not isinstance(x, (list, tuple)) or len(x) != len(self.inputs):
            raise ValueError(f'{what}: model "{self.name}" has {len(names)} inputs {names}; give a list '
                             f"of {len(names)} arrays, one per input")
        arrays = [check_array(a, t.shape, f"{what} (input {t.name!r})", self.name) for a, t in zip(x, self.inputs)]
        if len({len(a) for a in arrays}) > 1:
            raise ValueError(f"{what}: the inputs have different numbers of samples "
                             f"{[len(a) for a in arrays]}; every input needs one row per sample")
        return arrays

    def __call__(self, x, training=False):
        """The model's output(s) for ``x``; Tensor inputs keep their graph."""
        tensors = list(x) if isinstance(x, (list, tuple)) else [x]
        if all(isinstance(t, Tensor) for t in tensors):
            self._check_inputs([t.data for t in tensors] if len(tensors) > 1 else tensors[0].data, "call")
        else:
            x = self._check_inputs(x, "call")
            tensors = [plan.batch(a) for a in (x if isinstance(x, list) else [x])]
        return self._structure(plan.run(plan.for_model(self), tensors, training), True)

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
        """Print (and return) the steps the model runs, fusions shown (see :mod:`tinycnn.plan`);
        a graph runs as chains of steps, each headed by the layers it reads."""
        self._require_built("plan")
        program = plan.for_model(self)
        writers = {id(t): node.layer.name for node in self.nodes for t in node.outputs}
        lines = []
        for segment in program.segments:
            if len(program.segments) > 1:
                lines.append(f"chain reading {', '.join(writers[slot] for slot in segment.inputs)}:")
            lines += plan.describe(segment.steps, ends_model=segment.output == program.outputs[0])
        for line in lines:
            (print_fn or print)(line)
        return lines

    # ----- weights -----------------------------------------------------------------------
    @property
    def weights(self) -> list:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list:
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self) -> list:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, arrays) -> None:
        arrays = list(arrays)
        self._require_built("set_weights")
        layers = self.layers
        expected = sum(len(layer.weights) for layer in layers)
        if len(arrays) != expected:
            raise ValueError(f'set_weights: model "{self.name}" has {expected} weight arrays, got {len(arrays)}')
        position = 0
        for layer in layers:
            count = len(layer.weights)
            layer.set_weights(arrays[position:position + count])
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    @blas_scope
    def profile(self, x, repeats=3, print_fn=None) -> list:
        """Per-step output shape, im2col size, FLOPs and forward/backward time on batch
        ``x`` in the current kernel tier (see :mod:`tinycnn.profiling`)."""
        from ..profiling import profile
        return profile(self, self._check_inputs(x, "profile"), repeats, print_fn or print)

    def summary(self, print_fn=None) -> None:
        """Print Keras's table: layer (type), output shape, parameter count (and for a graph
        the layers each one reads), then the totals."""
        self._require_built("summary")
        print_summary(self, print_fn or print)

    # ----- configuration and files -------------------------------------------------------
    def get_config(self) -> dict:
        """Layers with the nodes that feed them (``[[layer name, node index, 0], ...]`` per
        call), and the model's input and output tensors in the same terms."""
        return graph.describe(self.inputs, self.outputs, self.nodes) | {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "Model":
        made = {entry["config"]["name"]: (layer_from_entry(entry), entry["inbound_nodes"])
                for entry in config["layers"]}
        inputs, outputs = graph.rebuild(made, config["input_layers"], config["output_layers"])
        return cls(inputs, outputs, name=config.get("name"))

    def save(self, filepath) -> None:
        """The whole model: Keras's legacy HDF5 for a ``.h5`` / ``.hdf5`` name, Keras 3's zip
        for ``.keras``, else tinycnn's ``.npz`` archive with compile settings and optimizer
        state (see :func:`tinycnn.saving.save_model`)."""
        self._require_built("save")
        saving.save_model(self, filepath)

    def export(self, filepath, format="onnx", opset=17) -> None:
        """An inference file for other runtimes: ONNX (see :mod:`tinycnn.onnx`), taking the
        same NHWC float32 batches as :meth:`predict`."""
        if format != "onnx":
            raise ValueError(f"export: tinycnn exports format='onnx' only, got format={format!r}")
        from .. import onnx
        onnx.export(self, filepath, opset=opset)

    def save_weights(self, filepath) -> None:
        """All weights; Keras 3's HDF5 layout for a ``.h5`` / ``.hdf5`` name, else ``.npz``
        (see :func:`tinycnn.saving.save_weights`)."""
        self._require_built("save_weights")
        saving.save_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        """Weights from tinycnn's or Keras's files (see :func:`tinycnn.saving.load_weights`)."""
        self._require_built("load_weights")
        saving.load_weights(self, filepath)


def _tensors(value, what: str) -> list:
    """``value`` (a symbolic tensor or a list of them) as a non-empty list, checked."""
    tensors = list(value) if isinstance(value, (list, tuple)) else [value]
    for tensor in tensors:
        if not isinstance(tensor, graph.SymbolicTensor):
            raise TypeError(f"Model: {what} must be symbolic tensors (from Input(shape=...) and layers "
                            f"called on it), got {type(tensor).__name__}")
    if not tensors:
        raise ValueError(f"Model: {what} is empty")
    return tensors
