"""LearningRateScheduler: set the learning rate before each epoch from a schedule."""
from __future__ import annotations

import inspect
import numbers

from .callback import Callback


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
            print(f"\nEpoch {epoch + 1:05d}: LearningRateScheduler setting learning rate to "
                  f"{float(learning_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
