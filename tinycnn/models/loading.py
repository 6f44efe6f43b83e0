"""``load_model``: a model back from any file ``model.save`` writes."""
from __future__ import annotations

from .. import saving
from .model import Model
from .sequential import Sequential

CLASSES = {cls.config_kind: cls for cls in (Sequential, Model)}  # a config's kind -> the class that reads it


def load_model(filepath) -> Model:
    """Rebuild a model written by ``model.save`` (or by Keras): architecture, weights, and
    (when it was compiled, in tinycnn's archive) optimizer, loss, metrics and optimizer state."""
    return saving.load_model(filepath, CLASSES)
