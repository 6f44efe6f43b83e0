"""Optimizer updates as ops: each rule runs in place on a parameter and its slots, in the
current tier's kernel (the math of each rule is in :mod:`tinycnn.kernels.contract`).

These are not differentiable: an optimizer calls them after ``backward()``, on arrays.
"""
from __future__ import annotations

from ..kernels import get_backend


def gradient_for(value, grad):
    """``grad`` in the dtype and C order of the parameter ``value``: the layout every
    tier's update kernel expects (no copy when it already is)."""
    return get_backend().xp.ascontiguousarray(grad, dtype=value.dtype)


def apply(rule: str, p, g, *slots_and_settings) -> None:
    """Run the update rule ``rule`` ('sgd', 'rmsprop', 'adam', 'adamax', 'adagrad',
    'adadelta') on ``p`` with gradient ``g``, in place: the tier's ``<rule>_update``."""
    getattr(get_backend(), f"{rule}_update")(p, g, *slots_and_settings)
