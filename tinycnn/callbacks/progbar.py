"""Keras's text progress bar and the callback that shows it."""
from __future__ import annotations

import sys
import time

import numpy as np

from .callback import Callback


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
    ``60/60 - 2s - loss: ... - 2s/epoch - 33ms/step`` (TensorFlow 2's Keras). The values
    shown are the ones given, as they are.
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
            per_step = _format_per_step(elapsed / current if current else 0.0, self.unit_name)
            sys.stdout.write(f"{self._count(current)} - {elapsed:.0f}s{self._metrics()} - {elapsed:.0f}s/epoch"
                             f" - {per_step}\n")
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
