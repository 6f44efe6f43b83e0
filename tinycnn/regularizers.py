"""Weight penalties added to the training loss: ``l1 * sum|w| + l2 * sum w^2``."""
from __future__ import annotations

from . import functional as F


class L1L2:
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * F.sum(F.abs(w))
        if self.l2:
            penalty = penalty + self.l2 * F.sum(F.square(w))
        return penalty

    def get_config(self) -> dict:
        return {"class_name": "L1L2", "l1": self.l1, "l2": self.l2}


def l1(l1=0.01) -> L1L2:
    return L1L2(l1=l1)


def l2(l2=0.01) -> L1L2:
    return L1L2(l2=l2)


def l1_l2(l1=0.01, l2=0.01) -> L1L2:
    return L1L2(l1=l1, l2=l2)


L1, L2 = l1, l2


def get(identifier):
    if identifier is None or isinstance(identifier, L1L2):
        return identifier
    if isinstance(identifier, dict):
        return L1L2(identifier.get("l1", 0.0), identifier.get("l2", 0.0))
    names = {"l1": l1, "l2": l2, "l1_l2": l1_l2}
    if isinstance(identifier, str) and identifier.lower() in names:
        return names[identifier.lower()]()
    if callable(identifier):
        return identifier
    raise ValueError(f"unknown regularizer {identifier!r}; valid names: l1, l2, l1_l2")
