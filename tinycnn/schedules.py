"""Learning-rate schedules: the rate as a function of the update count, per step.

Give one as an optimizer's ``learning_rate`` (Keras's ``LearningRateSchedule`` protocol):
update ``t`` (counted from 1) uses ``schedule(t - 1)``, so ``schedule(0)`` is the first
step's rate. A schedule changes the rate every step, which the epoch-level callbacks
(``LearningRateScheduler``, ``ReduceLROnPlateau``) cannot.
"""
from __future__ import annotations

import numbers

import numpy as np


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step) -> float`` and ``get_config``."""

    def __call__(self, step) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config()["config"].items())
        return f"{type(self).__name__}({args})"


class PiecewiseLinear(LearningRateSchedule):
    """Straight lines between the points ``(boundaries[i], values[i])``, flat before the
    first and after the last (``numpy.interp``). A warm-up from 0.2 to 1.0 over 500 steps
    and a decay to 0.07 at step 2000, times a peak rate of 0.01::

        PiecewiseLinear([0, 500, 2000], [0.002, 0.01, 0.0007])

    (tinycnn's own; Keras has no piecewise-linear schedule.)"""

    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        numbers_only = all(isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)
                           for v in boundaries + values)
        if not numbers_only or len(boundaries) != len(values) or not boundaries:
            raise ValueError("PiecewiseLinear: boundaries and values must be lists of finite numbers "
                             f"of the same non-zero length, got {boundaries!r} and {values!r}")
        if any(b >= a for a, b in zip(boundaries[1:], boundaries)):
            raise ValueError(f"PiecewiseLinear: boundaries must increase, got {boundaries!r}")
        if min(values) < 0:
            raise ValueError(f"PiecewiseLinear: learning rates must be >= 0, got {values!r}")
        self.boundaries, self.values = [float(b) for b in boundaries], [float(v) for v in values]

    def __call__(self, step) -> float:
        return float(np.interp(float(step), self.boundaries, self.values))

    def get_config(self) -> dict:
        return {"class_name": type(self).__name__,
                "config": {"boundaries": self.boundaries, "values": self.values}}


_BY_NAME = {cls.__name__: cls for cls in (PiecewiseLinear,)}


def from_config(config: dict) -> LearningRateSchedule:
    """A schedule from ``get_config()``'s ``{'class_name': ..., 'config': {...}}``."""
    cls = _BY_NAME.get(config.get("class_name"))
    if cls is None or not isinstance(config.get("config"), dict):
        raise ValueError(f"schedules.from_config: expected {{'class_name': one of {sorted(_BY_NAME)}, "
                         f"'config': {{...}}}}, got {config!r}")
    return cls.from_config(config["config"])
