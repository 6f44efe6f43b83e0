"""The training loop: compile, fit, evaluate, predict and their one-batch forms.

One training step (``train_on_batch`` and every batch of ``fit``)::

    plan.loss_and_predictions (forward, training=True; loss from logits when fused)
    -> + regularisation penalties -> loss.backward() -> optimizer.apply(trainable weights)
    -> callbacks

:class:`Trainer` is a mixin: the model class that inherits it provides ``layers``,
``weights``, ``trainable_weights``, ``output_shape`` and ``_check_inputs(x, what)``.
Callback hooks fire where Keras fires them: ``fit`` runs the train hooks and, for its
validation, the test hooks of the same callbacks; ``evaluate`` the test hooks and
``predict`` the predict hooks of the callbacks it is given.
"""
from __future__ import annotations

import numpy as np

from .. import callbacks as callbacks_mod
from .. import losses as losses_mod
from .. import metrics as metrics_mod
from .. import optimizers as optimizers_mod
from .. import plan
from ..autograd import no_grad
from ..kernels.threads import blas_scope
from . import batches


class Trainer:
    """compile / fit / evaluate / predict, with Keras's arguments and logs."""

    optimizer = None
    loss = None
    compiled_metrics: list = []
    stop_training = False
    history = None

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

    @property
    def metrics_names(self) -> list:
        return ["loss"] + [m.name for m in self.compiled_metrics]

    # ----- one batch -------------------------------------------------------------------
    def _checked(self, x, y, what):
        x = self._check_inputs(x, what)
        return x, batches.check_targets(x, y, what)

    def _loss_and_predictions(self, x, y, training):
        loss, out = plan.loss_and_predictions(plan.for_model(self), plan.batch(x), y, self.loss, training)
        for layer in self.layers:
            for penalty in layer.regularization_losses():
                loss = loss + penalty
        return loss, plan.to_host(out)  # metrics are computed on the host

    def _batch_logs(self, loss_value, y, y_pred) -> dict:
        logs = {"loss": loss_value}
        for metric in self.compiled_metrics:
            logs[metric.name] = float(np.mean(metric(y, y_pred)))
        return logs

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

    def _test_step(self, x, y) -> dict:
        with no_grad():
            loss, y_pred = self._loss_and_predictions(x, y, training=False)
        return self._batch_logs(float(loss.data), y, y_pred)

    def _predict_step(self, x):
        with no_grad():
            return plan.to_host(plan.run(plan.for_model(self), plan.batch(x), training=False))

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
        batch_size = 32 if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"fit: batch_size must be at least 1, got {batch_size}")
        if epochs < initial_epoch:
            raise ValueError(f"fit: epochs ({epochs}) is less than initial_epoch ({initial_epoch})")
        if x is not None and batches.is_batch_iterator(x):
            epoch_batches, steps = batches.iterator_batches(
                x, steps_per_epoch, lambda xb, yb: self._checked(xb, yb, "fit"))
        else:
            if x is None or y is None:
                raise ValueError("fit: give both x and y (or an iterator of (x, y) batches as x)")
            x, y = self._checked(x, y, "fit")
            if validation_split and validation_data is None:
                (x, y), validation_data = batches.split_validation(x, y, validation_split)
            epoch_batches = batches.array_batches(x, y, batch_size, shuffle)
            steps = -(-len(x) // batch_size)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            x_val, y_val = self._checked(*validation_data, "fit (validation_data)")

        history = callbacks_mod.History()
        cbs = callbacks_mod.CallbackList(
            ([callbacks_mod.ProgbarLogger()] if verbose else []) + list(callbacks or []) + [history],
            model=self, epochs=epochs, steps=steps, verbose=verbose)
        self.stop_training = False
        cbs.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            logs = self._fit_epoch(epoch, epoch_batches, cbs)
            if validation_data is not None and not self.stop_training:
                val = self._evaluate(x_val, y_val, validation_batch_size or batch_size, cbs)
                logs.update({f"val_{key}": value for key, value in val.items()})
            cbs.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbs.on_train_end({})
        self.history = history
        return history

    def _fit_epoch(self, epoch, epoch_batches, cbs) -> dict:
        """One epoch of training steps; returns its logs (batch-size-weighted means)."""
        totals, seen, logs = {}, 0, {}
        for step, (xb, yb) in enumerate(epoch_batches()):
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
        return logs

    # ----- evaluate and predict ----------------------------------------------------------
    def _callbacks(self, callbacks, verbose, steps):
        verbose = 1 if verbose == "auto" else int(verbose)
        progbar = [callbacks_mod.ProgbarLogger()] if verbose else []
        return callbacks_mod.CallbackList(progbar + list(callbacks or []), model=self, epochs=1,
                                          steps=steps, verbose=verbose)

    @blas_scope
    def evaluate(self, x, y, batch_size=None, verbose="auto", return_dict=False, callbacks=None):
        """Loss and metrics over the data in inference mode, batch-size-weighted."""
        self._require_compiled("evaluate")
        x, y = self._checked(x, y, "evaluate")
        batch_size = batch_size or 32
        cbs = self._callbacks(callbacks, verbose, len(batches.slices(len(x), batch_size)))
        return self._format(self._evaluate(x, y, batch_size, cbs), return_dict)

    def _evaluate(self, x, y, batch_size, cbs) -> dict:
        cbs.on_test_begin({})
        totals, logs = {}, {}
        for step, (start, stop) in enumerate(batches.slices(len(x), batch_size)):
            cbs.on_test_batch_begin(step, {})
            for key, value in self._test_step(x[start:stop], y[start:stop]).items():
                totals[key] = totals.get(key, 0.0) + value * (stop - start)
            logs = {key: total / stop for key, total in totals.items()}
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        return logs

    @blas_scope
    def predict(self, x, batch_size=None, verbose=0, callbacks=None) -> np.ndarray:
        """The model's outputs in inference mode, computed batch by batch."""
        if not self.layers:
            raise ValueError("predict: the model has no layers yet")
        x = self._check_inputs(x, "predict")
        spans = batches.slices(len(x), batch_size or 32)
        cbs = self._callbacks(callbacks, verbose, len(spans))
        cbs.on_predict_begin({})
        outputs = []
        for step, (start, stop) in enumerate(spans):
            cbs.on_predict_batch_begin(step, {})
            outputs.append(self._predict_step(x[start:stop]))
            cbs.on_predict_batch_end(step, {"outputs": outputs[-1]})
        cbs.on_predict_end({})
        return np.concatenate(outputs) if outputs else np.zeros((0, *self.output_shape[1:]), np.float32)
