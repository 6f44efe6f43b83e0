"""Callbacks: objects that watch the training loop, with Keras's interface and messages.

``fit`` calls hooks on every callback in a :class:`CallbackList`:

    on_train_begin
      on_epoch_begin(epoch)                  epoch counts from 0
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)
      on_epoch_end(epoch, logs)              logs: epoch means, with val_* entries
    on_train_end

(``evaluate`` and ``predict`` call the ``on_test_*`` / ``on_predict_*`` hooks). Logs are
one dict shared by the callbacks of a call, so a callback may add an entry (e.g.
``learning_rate``) that the ones after it see. A callback reaches the model through
``self.model`` (``stop_training``, ``optimizer.learning_rate``, ``get_weights``,
``set_weights``, ``save``, ``save_weights``) and the loop's settings through
``self.params`` (``epochs``, ``steps``, ``verbose``).
"""
from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import sys
import time
import warnings

import numpy as np


class Callback:
    """Base class: every hook does nothing. ``on_train_batch_*`` default to the Keras 2
    names ``on_batch_begin`` / ``on_batch_end``, so either may be overridden."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


_HOOKS_WITHOUT_INDEX = ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                        "on_predict_begin", "on_predict_end")
_HOOKS_WITH_INDEX = ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                     "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                     "on_predict_batch_begin", "on_predict_batch_end")


class CallbackList(Callback):
    """Calls each hook on every callback, in order, with one shared logs dict.

    As Keras 3 does, ``add_history=True`` appends a :class:`History` and
    ``add_progbar=True`` a :class:`ProgbarLogger` (after the user's callbacks, unless the
    list already has one); ``params`` (``epochs``, ``steps``, ``verbose``) go to all.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be tinycnn.callbacks.Callback objects, got "
                                f"{type(cb).__name__}: {cb!r}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook, *args):
        logs = args[-1] if args[-1] is not None else {}
        for cb in self.callbacks:
            getattr(cb, hook)(*args[:-1], logs)

    def on_batch_begin(self, batch, logs=None):
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.on_train_batch_end(batch, logs)


def _fan_out_without_index(hook):
    def call(self, logs=None):
        self._call(hook, logs)
    call.__name__ = hook
    return call


def _fan_out_with_index(hook):
    def call(self, index, logs=None):
        self._call(hook, index, logs)
    call.__name__ = hook
    return call


# Each hook of a CallbackList calls the same hook on every callback in the list.
for _hook in _HOOKS_WITHOUT_INDEX:
    setattr(CallbackList, _hook, _fan_out_without_index(_hook))
for _hook in _HOOKS_WITH_INDEX:
    setattr(CallbackList, _hook, _fan_out_with_index(_hook))


class History(Callback):
    """Records the epoch logs: ``history['loss'][i]`` is epoch i's loss; ``epoch`` lists the
    epoch indices. ``fit`` returns it and sets ``model.history`` to it."""

    def __init__(self):
        super().__init__()
        self.history: dict = {}
        self.epoch: list = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


# ----- progress bar ----------------------------------------------------------------------------
def _live_display(stream) -> bool:
    """Whether ``stream`` can redraw a line with '\\r': a terminal or a Jupyter kernel."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or _inside_jupyter_kernel()


def _inside_jupyter_kernel() -> bool:
    """True when this code runs in a Jupyter kernel (IPython's shell is the kernel's), not
    merely in a process that imported ipykernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _format_value(value) -> str:
    """Keras's number format in progress lines: 4 decimals, or scientific below 1e-3."""
    if not isinstance(value, str) and np.ndim(value) == 0:
        value = float(value)
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def _format_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_per_step(seconds: float, unit: str) -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """Keras's text progress bar for ``target`` steps (None: unknown).

    ``verbose=1`` on a terminal (or in Jupyter) redraws one line in place, at most every
    ``interval`` seconds:  ``12/60 [=====>....] - ETA: 3s - loss: 0.5012``, and ends with
    ``60/60 [==========] - 2s 33ms/step - loss: ...``. Where the output cannot be redrawn (a
    log file, CI) it writes only that final line. ``verbose=2`` writes one line at the end:
    ``60/60 - 2s - loss: ...``. The values shown are the ones given, as they are.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step"):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self._live = _live_display(sys.stdout)
        self._values: dict = {}
        self._start = time.time()
        self._last_update = 0.0
        self._drawn_width = 0

    def update(self, current, values=None, finalize=None):
        """Show step ``current`` with ``values`` (a dict or (name, value) pairs)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._values.update(dict(values or {}))
        now = time.time()
        redraw_due = self._live and now - self._last_update >= self.interval
        if self.verbose == 1 and (finalize or redraw_due):
            self._draw(current, now, finalize)
            self._last_update = now
        elif self.verbose == 2 and finalize:
            elapsed = now - self._start
            sys.stdout.write(f"{self._count(current)} - {elapsed:.0f}s{self._metrics()}\n")
            sys.stdout.flush()

    def _count(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        return f"{current:{digits}d}/{self.target}"

    def _bar(self, current):
        if self.target is None:
            return self._count(current)
        done = int(self.width * min(current / self.target, 1.0)) if self.target else self.width
        arrow = ("=" * (done - 1) + (">" if current < self.target else "=")) if done else ""
        return f"{self._count(current)} [{arrow}{'.' * (self.width - done)}]"

    def _metrics(self):
        return "".join(f" - {k}: {_format_value(v)}" for k, v in self._values.items())

    def _draw(self, current, now, finalize):
        per_step = (now - self._start) / current if current else 0.0
        if finalize or self.target is None:
            timing = f" - {now - self._start:.0f}s {_format_per_step(per_step, self.unit_name)}"
        else:
            timing = f" - ETA: {_format_duration(per_step * (self.target - current))}"
        line = self._bar(current) + timing + self._metrics()
        if self._live:
            padding = " " * max(self._drawn_width - len(line), 0)
            sys.stdout.write("\r" + line + padding)
            self._drawn_width = len(line)
        else:
            sys.stdout.write(line)
        if finalize:
            sys.stdout.write("\n")
        sys.stdout.flush()


class ProgbarLogger(Callback):
    """Prints progress for ``fit`` (``Epoch 1/3`` when there are several epochs, then a bar
    per epoch), ``evaluate`` and ``predict``, as chosen by ``params['verbose']``."""

    _IGNORED_LOG_KEYS = ("batch", "size")

    def __init__(self):
        super().__init__()
        self._progbar = None
        self._seen = 0
        self._in_fit = False

    @property
    def verbose(self):
        verbose = self.params.get("verbose", 1)
        return 1 if verbose == "auto" else verbose

    def _start(self):
        self._seen = 0
        self._progbar = Progbar(self.params.get("steps"), verbose=self.verbose)

    def _update(self, batch, logs):
        self._seen = batch + 1
        shown = {k: v for k, v in (logs or {}).items() if k not in self._IGNORED_LOG_KEYS}
        self._progbar.update(self._seen, shown, finalize=False)

    def _finish(self, logs):
        if self._progbar.target is None:
            self._progbar.target = self._seen
        shown = {k: v for k, v in (logs or {}).items() if k not in self._IGNORED_LOG_KEYS}
        self._progbar.update(self._progbar.target, shown, finalize=True)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start()
        epochs = self.params.get("epochs", 1)
        if self.verbose and epochs > 1:
            print(f"Epoch {epoch + 1}/{epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    # Validation inside fit stays silent; a separate evaluate shows its own bar.
    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)  # predict's logs hold outputs, not numbers to show

    def on_predict_end(self, logs=None):
        self._finish(None)


# ----- callbacks that watch a monitored value -------------------------------------------------
def _direction(mode, monitor, owner) -> str:
    """'min' or 'max'. ``mode='auto'`` maximises names containing 'acc' (and 'fmeasure'),
    minimises the rest; an unknown mode falls back to auto with a warning, as in Keras."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode == "auto":
        return "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
    return mode


def _monitored(logs, monitor, purpose):
    """``logs[monitor]``, or None with a warning that lists the keys that are there."""
    value = (logs or {}).get(monitor)
    if value is None:
        available = ",".join(logs or {}) or "(none)"
        warnings.warn(f"{purpose} is conditioned on metric `{monitor}` which is not available. "
                      f"Available metrics are: {available}", stacklevel=3)
    return value


class ModelCheckpoint(Callback):
    """Saves the model (or only its weights) at the end of every epoch, or every
    ``save_freq`` batches when that is an integer.

    ``filepath`` may hold ``{epoch:02d}`` (1-based, as Keras) and any log key, e.g.
    ``'weights.{epoch:02d}-{val_loss:.2f}.npz'``. With ``save_best_only`` it saves only
    when ``monitor`` improves on the best value seen (``mode``: 'min', 'max' or 'auto');
    when the logs lack ``monitor`` it warns and saves, as Keras 3 does.
    The model's own ``save`` / ``save_weights`` write atomically, so an interrupted save
    never damages the previous file.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of "
                             f"batches, got {save_freq!r}")
        self.save_freq = save_freq
        self.direction = _direction(mode, monitor, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = math.inf if self.direction == "min" else -math.inf
        self._epoch = 0
        self._batches_since_save = 0

    def _improved(self, current) -> bool:
        return current < self.best if self.direction == "min" else current > self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def file_path(self, epoch, batch, logs) -> str:
        """``filepath`` with its fields filled: epoch (1-based), batch (1-based), log keys."""
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(**fields)
        except KeyError as err:
            raise KeyError(f"ModelCheckpoint: cannot fill the filepath {self.filepath!r}: no "
                           f"value for {err}; available fields are {sorted(fields)}") from None

    def _save(self, epoch, batch, logs):
        path = self.file_path(epoch, batch, logs)
        current = _monitored(logs, self.monitor, "Saving the best model") \
            if self.save_best_only else None
        if current is not None:  # without the monitored value Keras 3 saves anyway
            if not self._improved(current):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if os.path.isdir(path):
            raise IsADirectoryError(f"ModelCheckpoint: the filepath {path!r} is an existing "
                                    "directory; give a file name")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class EarlyStopping(Callback):
    """Stops training once ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs (Keras 3's rule).

    With ``baseline``, an epoch only resets the patience when it also beats the baseline.
    With ``restore_best_weights`` the model gets back, at the end of training, the weights
    of its best epoch. Epochs before ``start_from_epoch`` are not watched.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.min_delta = abs(min_delta)
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.direction = _direction(mode, monitor, "EarlyStopping")
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.direction == "min" else -math.inf
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference) -> bool:
        if self.direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` (not below ``min_lr``) once ``monitor``
    has not improved by more than ``min_delta`` for ``patience`` epochs, then waits
    ``cooldown`` epochs before watching again. Adds ``learning_rate`` to the epoch logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0 (it must "
                             f"reduce the rate), got factor={factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self.direction = _direction(mode, monitor, "ReduceLROnPlateau")
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best = math.inf if self.direction == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current) -> bool:
        if self.direction == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = _monitored(logs, self.monitor, "Learning rate reduction")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


def _takes_learning_rate(schedule) -> bool:
    """Whether ``schedule`` accepts (epoch, lr) rather than only (epoch)."""
    try:
        parameters = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


class LearningRateScheduler(Callback):
    """Before each epoch sets ``optimizer.learning_rate = schedule(epoch, lr)`` (or
    ``schedule(epoch)``), epoch counting from 0. Adds ``learning_rate`` to the epoch logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be a function of the epoch, "
                            f"got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose
        self._with_lr = _takes_learning_rate(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        if self._with_lr:
            learning_rate = self.schedule(epoch, float(self.model.optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
            raise ValueError(f"LearningRateScheduler: the schedule must return a number, got "
                             f"{learning_rate!r} for epoch {epoch}")
        self.model.optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(learning_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Writes one row per epoch to ``filename``: ``epoch`` (from 0) and the log keys in
    sorted order. As in Keras 3, when the first epoch has no ``val_*`` entries the columns
    ``val_<key>`` are still added (and hold ``NA``), so later validation fits the header.
    ``append=True`` continues an existing file without repeating its header."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                write_header = not existing.readline()
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._write_header = write_header
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


def _csv_value(value):
    if isinstance(value, str) or np.ndim(value) == 0:
        return value
    return "[" + ", ".join(map(str, np.ravel(value))) + "]"


class TerminateOnNaN(Callback):
    """Stops training after a batch whose loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of plain functions: ``on_epoch_begin(epoch, logs)``,
    ``on_epoch_end(epoch, logs)``, ``on_batch_begin(batch, logs)``,
    ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``, ``on_train_end(logs)``
    (Keras 3's ``on_train_batch_begin`` / ``on_train_batch_end`` too)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {name} must be a function, got {fn!r}")
                setattr(self, name, fn)
