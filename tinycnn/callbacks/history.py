"""History: the epoch logs of a fit, returned by it."""
from __future__ import annotations

from .callback import Callback


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
