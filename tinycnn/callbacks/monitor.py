"""MonitorCallback: the base of the callbacks that watch one logged value and act when it
improves (ModelCheckpoint, EarlyStopping, ReduceLROnPlateau).

"Improves" is one rule for all of them, as in Keras 3: in 'min' mode ``value + min_delta <
reference``, in 'max' mode ``value - min_delta > reference``.
"""
from __future__ import annotations

import math
import warnings

from .callback import Callback


def _direction(mode, monitor, owner) -> str:
    """'min' or 'max'. ``mode='auto'`` maximises names containing 'acc' (and 'fmeasure'),
    minimises the rest; an unknown mode falls back to auto with a warning, as in Keras."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=4)
        mode = "auto"
    if mode == "auto":
        return "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
    return mode


class MonitorCallback(Callback):
    """Holds ``monitor``, its direction (from ``mode``), ``min_delta`` and the ``best``
    value so far."""

    def __init__(self, monitor, mode="auto", min_delta=0.0):
        super().__init__()
        self.monitor, self.min_delta = monitor, abs(min_delta)
        self.direction = _direction(mode, monitor, type(self).__name__)
        self.reset_best()

    def reset_best(self, value=None) -> None:
        """Start over: ``best`` is ``value``, or the worst possible value."""
        worst = math.inf if self.direction == "min" else -math.inf
        self.best = worst if value is None else float(value)

    def _is_improvement(self, value, reference) -> bool:
        if self.direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def _monitored(self, logs, purpose):
        """``logs[monitor]``, or None with a warning that lists the keys that are there."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            available = ",".join(logs or {}) or "(none)"
            warnings.warn(f"{purpose} is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {available}", stacklevel=3)
        return value
