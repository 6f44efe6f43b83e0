"""The training loop: compile, fit, evaluate, predict and their one-batch forms.

One training step (``train_on_batch`` and every batch of ``fit``)::

    plan.loss_and_predictions (forward, training=True; loss from logits when fused)
    -> + regularisation penalties -> loss.backward() -> optimizer.apply(trainable weights)
    -> callbacks

:class:`Trainer` is a mixin: the model class that inherits it provides ``layers``,
``weights``, ``trainable_weights``, ``outputs``, ``output_shape``, ``nodes`` (its graph) and
``_check_inputs(x, what)``.
Callback hooks fire where Keras fires them: ``fit`` runs the train hooks and, for its
validation, the test hooks of the same callbacks; ``evaluate`` the test hooks and
``predict`` the predict hooks of the callbacks it is given.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import callbacks as callbacks_mod
from .. import distributed
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from .. import plan
from ..autograd import no_grad
from ..kernels.threads import blas_scope
from ..utils import count_argument
from . import batches


DIVERGED = 10_000  # fit warns once when a batch's loss exceeds this many times the first one


class Trainer:
    """compile / fit / evaluate / predict, with Keras's arguments and logs."""

    optimizer = None
    loss = None
    compiled_metrics: list = []
    output_losses: list = []
    output_metrics: list = []
    loss_weights: list = [1.0]
    stop_training = False
    history = None

    # ----- compile ---------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None) -> None:
        """Choose the optimizer, the loss and the metrics (names or objects, as Keras). A
        model of several outputs takes one loss for all of them or one per output (a list,
        or a dict by output layer name), ``loss_weights`` likewise; its loss is the weighted
        sum, and each metric is computed for each output (logged ``<output>_<metric>``)."""
        if loss is None:
            raise ValueError("compile: give a loss, e.g. loss='categorical_crossentropy'")
        outputs = self._output_names()
        output_losses = [losses_mod.get(item) for item in _per_output(loss, outputs, "loss")]
        self.loss_weights = [float(w) for w in _per_output(1.0 if loss_weights is None else loss_weights,
                                                           outputs, "loss_weights")]
        self.optimizer = optimizers_mod.get(optimizer)
        self.loss = output_losses[0] if len(outputs) == 1 else output_losses
        self.output_losses = output_losses
        self.output_metrics = [[metrics_mod.get(m, loss=loss_i) for m in (metrics or [])]
                               for loss_i in output_losses]
        self.compiled_metrics = self.output_metrics[0]

    def _output_names(self) -> list:
        """The names of the model's outputs (their layers'); one name before it is built."""
        outputs = getattr(self, "outputs", None)
        return [t.node.layer.name for t in outputs] if outputs else ["output"]

    def _require_compiled(self, what: str) -> None:
        if self.loss is None or self.optimizer is None:
            raise RuntimeError(f"{what}: the model must be compiled first: call "
                               "model.compile(optimizer=..., loss=..., metrics=[...])")

    @property
    def metrics_names(self) -> list:
        outputs = self._output_names()
        return (["loss"] + ([f"{name}_loss" for name in outputs] if len(outputs) > 1 else [])
                + [key for key, _, _ in self._metric_keys()])

    def _metric_keys(self) -> list:
        """``(log name, output index, metric)`` for every compiled metric: its own name for a
        model of one output, Keras's ``<output>_<metric>`` for a model of several."""
        outputs = self._output_names()
        return [(m.name if len(outputs) == 1 else f"{name}_{m.name}", i, m)
                for i, (name, metrics) in enumerate(zip(outputs, self.output_metrics)) for m in metrics]

    # ----- one batch -------------------------------------------------------------------
    def _checked(self, x, y, what):
        x = self._check_inputs(x, what)
        if batches.samples(x) == 0:
            raise ValueError(f"{what}: x has 0 samples; training and evaluation need at least one")
        return x, batches.check_targets(x, y, len(self._output_names()), what)

    def _loss_and_predictions(self, x, y, training):
        """``(total loss, its part per output, host predictions per output)``."""
        ys = y if isinstance(y, list) else [y]
        loss, parts, outs = plan.loss_and_predictions(plan.for_model(self), _on_device(x), ys,
                                                      self.output_losses, self.loss_weights, training)
        for layer in self.layers:
            for penalty in layer.regularization_losses():
                loss = loss + penalty
        return loss, parts, [plan.to_host(out) for out in outs]  # metrics are computed on the host

    def _batch_logs(self, loss_value, parts, y, y_pred) -> dict:
        logs = {"loss": loss_value}
        if len(parts) > 1:
            logs.update({f"{name}_loss": float(part.data) for name, part in zip(self._output_names(), parts)})
        ys = y if len(y_pred) > 1 else [y]
        for key, i, metric in self._metric_keys():
            logs[key] = float(np.mean(metric(ys[i], y_pred[i])))
        return logs

    def _train_step(self, x, y):
        """Returns ``(logs of this batch, finite)``. A batch whose loss is not finite is not
        applied, and the weights go back to those before the previous update (the update
        that may have pushed them towards overflow), so the model keeps the last weights
        that gave a finite loss; NaN never reaches them."""
        params = self.trainable_weights
        for p in params:
            p.grad = None
        loss, parts, y_pred = self._loss_and_predictions(x, y, training=True)
        value = float(loss.data)
        logs = self._batch_logs(value, parts, y, y_pred)
        if not np.isfinite(value):
            self._restore_last_finite(params)
            return logs, False
        self._keep_last_finite(params)
        loss.backward()
        self.optimizer.apply(params)
        return logs, True

    def _kept(self, params):
        """The buffers :meth:`_keep_last_finite` filled for ``params``, or None."""
        kept = getattr(self, "_last_finite", None)
        return kept if kept is not None and [k.shape for k in kept] == [p.shape for p in params] else None

    def _keep_last_finite(self, params) -> None:
        """Copy ``params`` (which just gave a finite loss) into buffers kept for a restore."""
        kept = self._kept(params)
        if kept is None:
            self._last_finite = [p.data.copy() for p in params]
            return
        for buffer, p in zip(kept, params):
            buffer[...] = p.data

    def _restore_last_finite(self, params) -> bool:
        """Put back the weights of :meth:`_keep_last_finite`; False when there are none."""
        kept = self._kept(params)
        if kept is None:
            return False
        for buffer, p in zip(kept, params):
            p.data[...] = buffer
        return True

    def _weights_finite(self) -> bool:
        return all(bool(np.isfinite(w.data).all()) for w in self.trainable_weights)

    def _test_step(self, x, y) -> dict:
        with no_grad():
            loss, parts, y_pred = self._loss_and_predictions(x, y, training=False)
        return self._batch_logs(float(loss.data), parts, y, y_pred)

    def _predict_step(self, x):
        with no_grad():
            outputs = [plan.to_host(out) for out in plan.run(plan.for_model(self), _on_device(x), training=False)]
        return outputs if len(outputs) > 1 else outputs[0]

    def _format(self, logs: dict, return_dict: bool):
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    @blas_scope
    def train_on_batch(self, x, y, return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) of that batch,
        computed before the update, as Keras."""
        self._require_compiled("train_on_batch")
        values, _ = self._train_step(*self._checked(x, y, "train_on_batch"))
        return self._format(values, return_dict)

    @blas_scope
    def test_on_batch(self, x, y, return_dict=False):
        self._require_compiled("test_on_batch")
        return self._format(self._test_step(*self._checked(x, y, "test_on_batch")), return_dict)

    @blas_scope
    def predict_on_batch(self, x) -> np.ndarray:
        return self._predict_step(self._check_inputs(x, "predict_on_batch"))

    # ----- fit -------------------------------------------------------------------------
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
        batch_size, steps_per_epoch = _batch_size_and_steps(batch_size, steps_per_epoch, "fit", "steps_per_epoch")
        epochs = count_argument(epochs, "epochs", "fit", minimum=0)
        initial_epoch = count_argument(initial_epoch, "initial_epoch", "fit", minimum=0)
        if epochs < initial_epoch:
            raise ValueError(f"fit: epochs ({epochs}) is less than initial_epoch ({initial_epoch})")
        if x is not None and batches.is_batch_iterator(x):
            if validation_split:
                raise ValueError("fit: validation_split is only supported for arrays, not for a generator "
                                 "or iterator of batches; pass validation_data=(x_val, y_val) instead")
            epoch_batches, steps = batches.iterator_batches(
                x, steps_per_epoch, lambda item: self._checked(*item, "fit"))
        else:
            if x is None or y is None:
                raise ValueError("fit: give both x and y (or an iterator of (x, y) batches as x)")
            x, y = self._checked(x, y, "fit")
            if validation_split and validation_data is None:
                (x, y), validation_data = batches.split_validation(x, y, validation_split)
            epoch_batches = batches.array_batches(x, y, batch_size, shuffle, steps_per_epoch)
            steps = steps_per_epoch or -(-batches.samples(x) // batch_size)
        validation = None
        if validation_data is not None:
            validation = self._test_batches(validation_data, None, validation_batch_size or batch_size,
                                            validation_steps, "fit (validation_data)")

        if distributed.is_worker():  # in a distributed job rank 0 alone prints and writes files
            verbose, callbacks = 0, [cb for cb in callbacks or [] if not getattr(cb, "writes_files", False)]
        history = callbacks_mod.History()
        cbs = callbacks_mod.CallbackList(
            ([callbacks_mod.ProgbarLogger()] if verbose else []) + list(callbacks or []) + [history],
            model=self, epochs=epochs, steps=steps, verbose=verbose)
        self.stop_training, self._first_loss, self._warned_divergence = False, None, False
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            logs = self._fit_epoch(epoch, epoch_batches, cbs)
            if not self._weights_finite() and self._restore_last_finite(self.trainable_weights):
                print(f"Epoch {epoch + 1}: an update made weights infinite or NaN; training stopped and the "
                      "weights are those from before that update")
                self.stop_training = True
            if validation is not None and not self.stop_training:
                val = self._evaluate(validation, cbs)
                logs.update({f"val_{key}": value for key, value in val.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:
            self.optimizer.finalize_variable_values(self.trainable_weights)  # EMA weights, as Keras
        cbs.on_train_end({})
        self.history = history
        return history

    def _fit_epoch(self, epoch, epoch_batches, cbs) -> dict:
        """One epoch of training steps; returns its logs (batch-size-weighted means)."""
        totals, seen, logs = {}, 0, {}
        for step, (xb, yb) in enumerate(epoch_batches()):
            cbs.on_train_batch_begin(step, {})
            batch_logs, finite = self._train_step(xb, yb)
            n = batches.samples(xb)
            seen += n
            for key, value in batch_logs.items():
                totals[key] = totals.get(key, 0.0) + value * n
            logs = {key: total / seen for key, total in totals.items()}
            cbs.on_train_batch_end(step, logs)
            if not finite:
                print(f"Epoch {epoch + 1}, batch {step}: the loss is {batch_logs['loss']}; training "
                      "stopped, this batch's update was not applied and the weights are the last ones "
                      "that gave a finite loss")
                self.stop_training = True
            elif self._first_loss is None:
                self._first_loss = batch_logs["loss"]
            elif not self._warned_divergence and batch_logs["loss"] > DIVERGED * max(self._first_loss, 1.0):
                self._warned_divergence = True
                warnings.warn(f"Epoch {epoch + 1}, batch {step}: the loss ({batch_logs['loss']:.4g}) is over "
                              f"{DIVERGED:,} times its first value ({self._first_loss:.4g}): training is "
                              "diverging; lower the learning rate", RuntimeWarning, stacklevel=2)
            if self.stop_training:
                break
        return logs

    # ----- evaluate and predict ----------------------------------------------------------
    def _callbacks(self, callbacks, verbose, steps):
        verbose = 0 if distributed.is_worker() else 1 if verbose == "auto" else int(verbose)
        progbar = [callbacks_mod.ProgbarLogger()] if verbose else []
        return callbacks_mod.CallbackList(progbar + list(callbacks or []), model=self, epochs=1,
                                          steps=steps, verbose=verbose)

    def _test_batches(self, x, y, batch_size, steps, what):
        """``(epoch function, steps)`` of checked ``(x, y)`` batches: slices of arrays (``x``
        and ``y``, or ``x`` a tuple ``(x, y)``), or ``steps`` batches of an iterator."""
        batch_size, steps = _batch_size_and_steps(batch_size, steps, what)
        if batches.is_batch_iterator(x):
            return batches.iterator_batches(x, steps, lambda item: self._checked(*item, what), what)
        if y is None:
            if not isinstance(x, (tuple, list)) or len(x) != 2:
                raise ValueError(f"{what}: give x and y, a tuple (x, y), or an iterator of (x, y) batches")
            x, y = x
        x, y = self._checked(x, y, what)
        return batches.array_batches(x, y, batch_size, shuffle=False), len(batches.slices(batches.samples(x), batch_size))

    @blas_scope
    def evaluate(self, x, y=None, batch_size=None, verbose="auto", return_dict=False, callbacks=None, steps=None):
        """Loss and metrics over the data in inference mode, batch-size-weighted; ``x`` (and
        ``y``) arrays, or an iterator of ``(x, y)`` batches (``steps`` of them)."""
        self._require_compiled("evaluate")
        test = self._test_batches(x, y, batch_size, steps, "evaluate")
        return self._format(self._evaluate(test, self._callbacks(callbacks, verbose, test[1])), return_dict)

    def _evaluate(self, test, cbs) -> dict:
        epoch_batches, _ = test
        cbs.on_test_begin({})
        totals, logs, seen = {}, {}, 0
        for step, (xb, yb) in enumerate(epoch_batches()):
            cbs.on_test_batch_begin(step, {})
            n = batches.samples(xb)
            seen += n
            for key, value in self._test_step(xb, yb).items():
                totals[key] = totals.get(key, 0.0) + value * n
            logs = {key: total / seen for key, total in totals.items()}
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        return logs

    def _input_batches(self, x, batch_size, steps):
        """``(batches, count)`` of model inputs: slices of an array, or ``steps`` batches of
        an iterator (whose items may be ``(x, y)`` pairs: the x is taken)."""
        batch_size, steps = _batch_size_and_steps(batch_size, steps, "predict")
        if not batches.is_batch_iterator(x):
            x = self._check_inputs(x, "predict")
            spans = batches.slices(batches.samples(x), batch_size)
            return (batches.take(x, slice(start, stop)) for start, stop in spans), len(spans)
        epoch, count = batches.iterator_batches(
            x, steps, lambda item: self._check_inputs(item[0] if isinstance(item, (tuple, list)) else item,
                                                      "predict"), "predict")
        return epoch(), count

    @blas_scope
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """The model's outputs in inference mode, computed batch by batch; ``x`` an array or
        an iterator of batches (``steps`` of them)."""
        if not self.layers:
            raise ValueError("predict: the model has no layers yet")
        inputs, count = self._input_batches(x, batch_size, steps)
        cbs = self._callbacks(callbacks, verbose, count)
        cbs.on_predict_begin({})
        outputs = []
        for step, xb in enumerate(inputs):
            cbs.on_predict_batch_begin(step, {})
            outputs.append(self._predict_step(xb))
            cbs.on_predict_batch_end(step, {"outputs": outputs[-1]})
        cbs.on_predict_end({})
        if len(self.outputs) > 1:  # one array per output, as Keras
            return [np.concatenate(parts) for parts in zip(*outputs)] if outputs else \
                [np.zeros((0, *t.shape[1:]), np.float32) for t in self.outputs]
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape[1:]), np.float32)

    # ----- Keras 2's generator methods (deprecated there, still in the notebooks) ------------
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, initial_epoch=0, **ignored):
        _deprecated("fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, verbose=0, callbacks=None, **ignored):
        _deprecated("evaluate")
        return self.evaluate(generator, steps=steps, verbose=verbose, callbacks=callbacks)

    def predict_generator(self, generator, steps=None, verbose=0, callbacks=None, **ignored):
        _deprecated("predict")
        return self.predict(generator, steps=steps, verbose=verbose, callbacks=callbacks)


def _batch_size_and_steps(batch_size, steps, what, steps_name="steps") -> tuple:
    """``batch_size`` (32 when None) and ``steps`` (None or a count), checked by name."""
    batch_size = 32 if batch_size is None else count_argument(batch_size, "batch_size", what)
    return batch_size, None if steps is None else count_argument(steps, steps_name, what)


def _per_output(value, outputs: list, what: str) -> list:
    """``value`` for each output: one value for all, a list of one per output, or a dict by
    output name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(outputs))
        if unknown or len(value) != len(outputs):
            raise ValueError(f"compile: {what} must name every output {outputs} once, got {sorted(value)}")
        return [value[name] for name in outputs]
    if isinstance(value, (list, tuple)):
        if len(value) != len(outputs):
            raise ValueError(f"compile: {what} has {len(value)} entries but the model has {len(outputs)} "
                             f"outputs {outputs}")
        return list(value)
    return [value] * len(outputs)


def _on_device(x) -> list:
    """The checked input batch (an array, or a list of arrays for several model inputs) as
    a list of Tensors on the current tier's device."""
    return [plan.batch(a) for a in (x if isinstance(x, list) else [x])]


def _deprecated(method: str) -> None:
    """Keras 2.4's warning for its ``*_generator`` methods."""
    warnings.warn(f"`Model.{method}_generator` is deprecated and will be removed in a future version. "
                  f"Please use `Model.{method}`, which supports generators.", UserWarning, stacklevel=3)
