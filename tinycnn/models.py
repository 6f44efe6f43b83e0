"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict.

One training step (``train_on_batch`` and every batch of ``fit``):

    forward through every layer (training=True) -> loss (+ regularisation penalties)
    -> loss.backward() -> optimizer.apply(trainable weights) -> callbacks

Some layers run as part of the layer before them (:func:`layer_steps`): an ``Activation``
layer after a layer without an activation of its own (so ``Conv2D`` + ``Activation('relu')``
uses the fused conv + relu kernel), and a 2x2 ``MaxPooling2D`` after a ``Conv2D`` (pooled
inside the convolution kernel in inference).

When the last layer ends in a softmax and the loss is a cross-entropy, the loss is computed
from the logits by the fused softmax + cross-entropy op: the same value and gradient
wherever Keras's probability clip (1e-7) is inactive, and stable where it is not.
"""
from __future__ import annotations

import os

import numpy as np

from . import callbacks as callbacks_mod
from . import functional as F
from . import layers as layers_mod
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from . import saving, utils
from .autograd import no_grad
from .kernels import get_backend
from .kernels.threads import blas_scope
from .layers.base import Layer, shape_str, unique_name
from .layers.convolutional import Conv2D
from .layers.core import Activation, InputLayer, WithActivation
from .layers.pooling import MaxPooling2D
from .tensor import Tensor, to_float_array


class Sequential:
    """A linear stack of layers, built as soon as the input shape is known."""

    def __init__(self, layers=None, name=None):
        self.name = name or unique_name("sequential")
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self.optimizer = None
        self.loss = None
        self.compiled_metrics: list = []
        self.stop_training = False
        self.history = None
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
        self._build_known_shapes()

    @property
    def layers(self) -> list:
        return list(self._layers)

    def _declared_input_shape(self):
        if self._input_layer is not None:
            return self._input_layer.requested_input_shape
        return self._layers[0].requested_input_shape if self._layers else None

    def _build_known_shapes(self) -> None:
        """Build every layer whose input shape is now known (Keras builds eagerly too)."""
        shape = self._declared_input_shape()
        if shape is None:
            return
        for layer in self._layers:
            shape = layer.ensure_built(shape)

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

    def _place_on_backend(self) -> None:
        """Keep the weights and the optimizer's state where the current kernel tier computes
        (a no-op for the CPU tiers, whose arrays already are NumPy arrays)."""
        backend = get_backend()
        for w in self.weights:
            w.data = backend.to_device(w.data)
        if self.optimizer is not None:
            self.optimizer.map_slots(backend.to_device)

    def _run(self, x: np.ndarray, steps, training) -> Tensor:
        """Run ``steps`` (see :func:`run_steps`) on a checked batch ``x``, on the current
        tier's device."""
        self._place_on_backend()
        return run_steps(steps, Tensor(get_backend().to_device(x)), training)

    def __call__(self, x, training=False) -> Tensor:
        if isinstance(x, Tensor):  # already a graph value: keep its graph
            return run_steps(layer_steps(self._layers), x, training)
        return self._run(self._check_inputs(x, "call"), layer_steps(self._layers), training)

    def _forward_for_loss(self, x, training):
        """Returns ``(output_for_loss, uses_logits)``: the logits of a final softmax when
        the loss can take them (fused path), else the model's output."""
        steps = layer_steps(self._layers)
        last, activation, pool = steps[-1]
        final = activation or last   # the layer whose activation ends the model
        fused = (getattr(self.loss, "supports_softmax_fusion", False) and pool is None
                 and isinstance(final, WithActivation) and final.activation_name == "softmax")
        if not fused:
            return self._run(x, steps, training), False
        h = self._run(x, steps[:-1], training)
        last.ensure_built(h.shape)
        return last.pre_activation(h, training), True

    def _loss_and_predictions(self, x, y, training):
        out, uses_logits = self._forward_for_loss(x, training)
        loss = self.loss.on_logits(y, out) if uses_logits else self.loss(y, out)
        penalties = [p for layer in self._layers for p in layer.regularization_losses()]
        for penalty in penalties:
            loss = loss + penalty
        with no_grad():
            y_pred = F.softmax(out).data if uses_logits else out.data
        return loss, get_backend().to_host(y_pred)  # metrics are computed on the host

    # ----- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer, the loss and the metrics (names or objects, as Keras)."""
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = losses_mod.get(loss)
        self.compiled_metrics = [metrics_mod.get(m, loss=self.loss) for m in (metrics or [])]

    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{what}: the model must be compiled first: call "
                               "model.compile(optimizer=..., loss=..., metrics=[...])")

    def _metric_names(self) -> list:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    # ----- training --------------------------------------------------------------------
    @blas_scope
    def train_on_batch(self, x, y, return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch,
        computed before the update, as Keras."""
        self._require_compiled("train_on_batch")
        x = self._check_inputs(x, "train_on_batch")
        y = self._check_targets(x, y, "train_on_batch")
        values, _ = self._train_step(x, y)
        return self._format(values, return_dict)

    def _train_step(self, x, y):
        """Returns ``(logs of this batch, finite)``; the update is skipped when the loss is
        not finite, so NaN never reaches the weights."""
        params = self.trainable_weights
        for p in params:
            p.grad = None
        loss, y_pred = self._loss_and_predictions(x, y, training=True)
        value = float(loss.data)
        logs = self._batch_logs(value, y, y_pred)
        if not np.isfinite(value):
            return logs, False
        loss.backward()
        self.optimizer.apply(params)
        return logs, True

    def _batch_logs(self, loss_value, y, y_pred) -> dict:
        logs = {"loss": loss_value}
        for metric in self.compiled_metrics:
            logs[metric.name] = float(np.mean(metric(y, y_pred)))
        return logs

    @blas_scope
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None):
        """Train for ``epochs`` epochs; returns a History whose ``.history`` maps each log
        name (loss, metrics, val_*) to its per-epoch values.

        ``x`` is an array (with targets ``y``) or an iterator of ``(x, y)`` batches such as
        ``ImageDataGenerator.flow(...)`` (then ``steps_per_epoch`` defaults to its length).
        Epoch values are batch-size-weighted means over the epoch's batches.
        """
        self._require_compiled("fit")
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"fit: batch_size must be at least 1, got {batch_size}")
        if epochs < initial_epoch:
            raise ValueError(f"fit: epochs ({epochs}) is less than initial_epoch ({initial_epoch})")
        if x is not None and _is_batch_iterator(x):
            batches_for_epoch, steps = self._iterator_batches(x, steps_per_epoch)
        else:
            if x is None or y is None:
                raise ValueError("fit: give both x and y (or an iterator of (x, y) batches as x)")
            x = self._check_inputs(x, "fit")
            y = self._check_targets(x, y, "fit")
            if validation_split and validation_data is None:
                if not 0 < validation_split < 1:
                    raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
                cut = int(len(x) * (1 - validation_split))  # the last samples, before shuffling
                x, validation_data, y = x[:cut], (x[cut:], y[cut:]), y[:cut]
            batches_for_epoch = self._array_batches(x, y, batch_size, shuffle)
            steps = -(-len(x) // batch_size)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            x_val = self._check_inputs(validation_data[0], "fit (validation_data)")
            y_val = self._check_targets(x_val, validation_data[1], "fit (validation_data)")

        history = callbacks_mod.History()
        callback_list = ([callbacks_mod.ProgbarLogger()] if verbose else []) + list(callbacks or []) + [history]
        cbs = callbacks_mod.CallbackList(callback_list)
        cbs.set_model(self)
        cbs.set_params({"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            totals, seen = {}, 0
            logs = {}
            for step, (xb, yb) in enumerate(batches_for_epoch()):
                cbs.on_train_batch_begin(step, {})
                batch_logs, finite = self._train_step(xb, yb)
                seen += len(xb)
                for key, value in batch_logs.items():
                    totals[key] = totals.get(key, 0.0) + value * len(xb)
                logs = {key: total / seen for key, total in totals.items()}
                cbs.on_train_batch_end(step, logs)
                if not finite:
                    print(f"Epoch {epoch + 1}, batch {step}: the loss is {batch_logs['loss']}; "
                          "training stopped and this batch's update was not applied")
                    self.stop_training = True
                if self.stop_training:
                    break
            if validation_data is not None and not self.stop_training:
                val = self.evaluate(x_val, y_val, batch_size=validation_batch_size or batch_size,
                                    verbose=0, return_dict=True)
                logs.update({f"val_{key}": value for key, value in val.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end({})
        self.history = history
        return history

    def _array_batches(self, x, y, batch_size, shuffle):
        def batches():
            if not shuffle:  # contiguous slices: views, no copies
                for start in range(0, len(x), batch_size):
                    yield x[start:start + batch_size], y[start:start + batch_size]
                return
            order = utils.rng().permutation(len(x))  # a new order every epoch
            for start in range(0, len(x), batch_size):
                index = order[start:start + batch_size]
                yield x[index], y[index]
        return batches

    def _iterator_batches(self, iterator, steps_per_epoch):
        if steps_per_epoch is None:
            if not hasattr(iterator, "__len__"):
                raise ValueError("fit: steps_per_epoch is needed when x is a generator without a length")
            steps_per_epoch = len(iterator)
        stream = iter(iterator)

        def batches():
            for _ in range(steps_per_epoch):
                try:
                    xb, yb = next(stream)
                except StopIteration:
                    return
                xb = self._check_inputs(xb, "fit")
                yield xb, self._check_targets(xb, yb, "fit")
        return batches, steps_per_epoch

    def _check_targets(self, x, y, what):
        y = y.data if isinstance(y, Tensor) else np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"{what}: x has {len(x)} samples but y has {len(y)}; they must match")
        return y

    # ----- evaluation and prediction ---------------------------------------------------
    @blas_scope
    def test_on_batch(self, x, y, return_dict=False):
        self._require_compiled("test_on_batch")
        x = self._check_inputs(x, "test_on_batch")
        y = self._check_targets(x, y, "test_on_batch")
        return self._format(self._test_step(x, y), return_dict)

    def _test_step(self, x, y) -> dict:
        with no_grad():
            loss, y_pred = self._loss_and_predictions(x, y, training=False)
        return self._batch_logs(float(loss.data), y, y_pred)

    @blas_scope
    def evaluate(self, x, y, batch_size=None, verbose="auto", return_dict=False):
        """Loss and metrics over the data in inference mode, batch-size-weighted."""
        self._require_compiled("evaluate")
        x = self._check_inputs(x, "evaluate")
        y = self._check_targets(x, y, "evaluate")
        batch_size = batch_size or 32
        totals = {}
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            for key, value in self._test_step(xb, yb).items():
                totals[key] = totals.get(key, 0.0) + value * len(xb)
        logs = {key: total / len(x) for key, total in totals.items()}
        if verbose:  # 'auto' counts as 1, as in Keras
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return self._format(logs, return_dict)

    def _format(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = [logs[name] for name in self._metric_names()]
        return values[0] if len(values) == 1 else values

    @blas_scope
    def predict(self, x, batch_size=None, verbose=0) -> np.ndarray:
        """The model's outputs in inference mode, computed batch by batch."""
        if not self._layers:
            raise ValueError("predict: the model has no layers yet")
        x = self._check_inputs(x, "predict")
        batch_size, steps = batch_size or 32, layer_steps(self._layers)
        with no_grad():
            outputs = [get_backend().to_host(self._run(x[start:start + batch_size], steps, False).data)
                       for start in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape[1:]), np.float32)

    @blas_scope
    def predict_on_batch(self, x) -> np.ndarray:
        x = self._check_inputs(x, "predict_on_batch")
        with no_grad():
            return get_backend().to_host(self._run(x, layer_steps(self._layers), False).data)

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
        return [np.array(get_backend().to_host(w.data)) for w in self.weights]

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

    # ----- summary -------------------------------------------------------------------
    def summary(self, print_fn=None) -> None:
        """Print Keras's table: layer (type), output shape, parameter count, and totals."""
        self._require_built("summary")
        emit = print_fn or print
        widths = (33, 26, 12)
        rule = "_" * sum(widths)
        emit(f'Model: "{self.name}"')
        emit(rule)
        emit(f"{'Layer (type)':<{widths[0]}}{'Output Shape':<{widths[1]}}{'Param #':>{widths[2]}}")
        emit("=" * sum(widths))
        for i, layer in enumerate(self._layers):
            name = f"{layer.name} ({type(layer).__name__})"
            emit(f"{name:<{widths[0]}}{shape_str(layer.output_shape):<{widths[1]}}"
                 f"{layer.count_params():>{widths[2]},}")
            if i < len(self._layers) - 1:
                emit("")
        emit("=" * sum(widths))
        total = self.count_params()
        trainable = sum(w.size for w in self.trainable_weights)
        emit(f"Total params: {total:,} ({_readable_bytes(total * 4)})")
        emit(f"Trainable params: {trainable:,} ({_readable_bytes(trainable * 4)})")
        emit(f"Non-trainable params: {total - trainable:,} ({_readable_bytes((total - trainable) * 4)})")
        emit(rule)

    # ----- saving ----------------------------------------------------------------------
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

    def _weight_arrays(self) -> dict:
        return {f"weights/{i}": w for i, w in enumerate(self.get_weights())}

    def _weight_layout(self) -> list:
        return [{"name": layer.name, "type": type(layer).__name__,
                 "shapes": [list(w.shape) for w in layer.weights]} for layer in self._layers]

    def save_weights(self, filepath) -> None:
        """Write all weights to ``filepath``, atomically.

        A path ending in ``.h5`` or ``.hdf5`` (Keras's convention) gets Keras 3's
        ``.weights.h5`` HDF5 layout, which Keras 3's ``load_weights`` reads into the same
        architecture (needs h5py: ``pip install 'tinycnn[keras]'``); any other path gets
        tinycnn's ``.npz`` format."""
        self._require_built("save_weights")
        if str(os.fspath(filepath)).lower().endswith((".h5", ".hdf5")):
            from . import keras_h5
            keras_h5.save_weights(self, filepath)
            return
        saving.write_archive(filepath, {"kind": "weights", "layers": self._weight_layout()},
                             self._weight_arrays())

    def load_weights(self, filepath) -> None:
        """Load weights into this model from a file written by :meth:`save_weights` or
        :meth:`save`, or by Keras: a Keras 3 ``.weights.h5`` or Keras 2 / tf.keras ``.h5``
        (``.hdf5``) file. The format is detected from the file's first bytes (HDF5 or
        tinycnn's zip archive), not its name. The layer list must match; the error names the
        first layer that does not."""
        self._require_built("load_weights")
        path = os.fspath(filepath)
        if os.path.exists(path):
            from . import keras_h5
            if keras_h5.is_hdf5(path):
                keras_h5.load_weights(self, path)
                return
        meta, arrays = saving.read_archive(filepath, "load_weights")
        self._set_weights_from(meta["layers"], arrays, "load_weights")

    def _set_weights_from(self, layout, arrays, what) -> None:
        for i, (layer, saved) in enumerate(zip(self._layers, layout)):
            shapes = [list(w.shape) for w in layer.weights]
            if shapes != saved["shapes"] or type(layer).__name__ != saved["type"]:
                raise ValueError(
                    f'{what}: layer {i} "{layer.name}" ({type(layer).__name__}) has weights of shapes '
                    f'{shapes}, but the file has {saved["shapes"]} for layer "{saved["name"]}" '
                    f'({saved["type"]}): the file comes from another architecture')
        if len(layout) != len(self._layers):
            raise ValueError(f"{what}: the file has {len(layout)} layers, this model has {len(self._layers)}")
        weights = self.weights
        for i, w in enumerate(weights):
            w.data[...] = get_backend().to_device(arrays[f"weights/{i}"])  # on the weight's device

    def save(self, filepath) -> None:
        """Save architecture, weights, compile settings and optimizer state, so that
        :func:`load_model` resumes training exactly. Always tinycnn's ``.npz`` format,
        whatever the extension (``model.save('m.h5')`` does not write Keras's HDF5 model
        format); for weights Keras can read, use ``save_weights('x.weights.h5')``."""
        self._require_built("save")
        meta = {"kind": "model", "model": self.get_config(), "layers": self._weight_layout(),
                "input_shape": list(self.input_shape[1:])}
        arrays = self._weight_arrays()
        if self.optimizer is not None:
            meta["compile"] = {"optimizer": self.optimizer.get_config(), "loss": self.loss.get_config(),
                               "metrics": [m.name for m in self.compiled_metrics]}
            arrays.update({f"optimizer/{k}": v for k, v in self.optimizer.get_state().items()})
        saving.write_archive(filepath, meta, arrays)


def load_model(filepath) -> Sequential:
    """Rebuild a model written by ``model.save``: architecture, weights, and (when it was
    compiled) optimizer, loss, metrics and optimizer state."""
    meta, arrays = saving.read_archive(filepath, "load_model")
    if meta.get("kind") != "model":
        raise ValueError(f"load_model: {filepath!r} holds only weights; build the model in code and "
                         "call model.load_weights(path)")
    model = Sequential.from_config(meta["model"])
    model.build((None, *meta["input_shape"]))
    model._set_weights_from(meta["layers"], arrays, "load_model")
    if "compile" in meta:
        settings = meta["compile"]
        model.compile(optimizer=optimizers_mod.get(settings["optimizer"]),
                      loss=losses_mod.get(settings["loss"]), metrics=settings["metrics"])
        state = {k[len("optimizer/"):]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        if state:
            model.optimizer.set_state(state, model.trainable_weights)
    return model


def layer_steps(layers) -> list:
    """The layers as they run: ``(layer, activation, pool)`` triples, where ``activation``
    and ``pool`` are following layers that ``layer`` applies itself, in one step (None when
    there is none):

    * an ``Activation`` layer right after a layer with no activation of its own (``Conv2D``
      or ``Dense`` with ``activation=None``): the notebooks' ``Conv2D`` +
      ``Activation('relu')`` then runs the fused conv + relu kernel, as
      ``Conv2D(..., activation='relu')`` does;
    * a ``MaxPooling2D`` with 2x2 windows, stride 2 and 'valid' padding right after a
      ``Conv2D`` (and its activation): in inference the convolution kernel pools its
      outputs before storing them (see ``Conv2D.activated_and_pooled``).

    The values and gradients are those of running the layers one after the other."""
    steps = []
    for layer in layers:
        last, activation, pool = steps[-1] if steps else (None, None, None)
        if (isinstance(layer, Activation) and activation is None and pool is None
                and isinstance(last, WithActivation) and last.activation_name == "linear"):
            steps[-1] = (last, layer, None)
        elif isinstance(last, Conv2D) and pool is None and _halves(layer):
            steps[-1] = (last, activation, layer)
        else:
            steps.append((layer, None, None))
    return steps


def _halves(layer) -> bool:
    """Is ``layer`` a max-pooling over 2x2 windows with stride 2 and no padding?"""
    return (isinstance(layer, MaxPooling2D) and layer.pool_size == (2, 2) and layer.strides == (2, 2)
            and layer.padding == "valid")


def run_steps(steps, h: Tensor, training) -> Tensor:
    """Apply ``steps`` from :func:`layer_steps` to ``h``."""
    for layer, activation, pool in steps:
        if activation is None and pool is None:
            h = layer(h, training=training)
            continue
        shape = layer.ensure_built(h.shape)
        for joined in (activation, pool):
            shape = shape if joined is None else joined.ensure_built(shape)
        named = activation or layer
        run = layer.activated if pool is None else layer.activated_and_pooled
        h = run(h, named.activation_name, named.activation, training)
    return h


def _is_batch_iterator(x) -> bool:
    return not isinstance(x, (np.ndarray, Tensor, list, tuple)) and (hasattr(x, "__next__") or hasattr(x, "__iter__"))


def _readable_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
