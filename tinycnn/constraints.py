"""Weight constraints, applied by the optimizer after every update."""
from __future__ import annotations

import numpy as np

from .backend import EPSILON  # Keras's backend epsilon


class MaxNorm:
    """Rescale each column so its L2 norm is at most ``max_value``:
    ``w * clip(norm, 0, max_value) / (eps + norm)``, the norm taken over ``axis``
    (Keras's default axis 0: each output unit's incoming weights for a Dense kernel; for a
    Conv2D kernel Keras's documentation suggests ``axis=[0, 1, 2]``)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = float(max_value)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def __call__(self, w: np.ndarray) -> np.ndarray:
        norms = np.sqrt(np.sum(w * w, axis=self.axis, keepdims=True))
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict:
        return {"class_name": "MaxNorm", "max_value": self.max_value,
                "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


def max_norm(max_value=2, axis=0) -> MaxNorm:
    return MaxNorm(max_value, axis)


maxnorm = max_norm  # the Keras 2 spelling used by the classic notebooks


def get(identifier):
    if identifier is None or isinstance(identifier, MaxNorm):
        return identifier
    if isinstance(identifier, dict):
        config = {k: v for k, v in identifier.items() if k != "class_name"}
        return MaxNorm(**config)
    if isinstance(identifier, str) and identifier.lower() in ("max_norm", "maxnorm"):
        return MaxNorm()
    if callable(identifier):
        return identifier
    raise ValueError(f"unknown constraint {identifier!r}; valid: 'max_norm' (alias 'maxnorm')")
