"""ModelCheckpoint: save the model or its weights every epoch, or only when it improves."""
from __future__ import annotations

import os
import warnings

from .monitor import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Saves the model (or only its weights) at the end of every epoch, or every
    ``save_freq`` batches when that is an integer.

    ``filepath`` may hold ``{epoch:02d}`` (1-based, as Keras) and any log key, e.g.
    ``'weights.{epoch:02d}-{val_loss:.2f}.npz'``. With ``save_best_only`` it saves only
    when ``monitor`` improves on the best value seen (``mode``: 'min', 'max' or 'auto');
    when the logs lack ``monitor`` it warns and saves, as Keras 3 does. Keras 2's
    ``period=n`` (deprecated there too) saves at the end of every n-th epoch only. Messages
    are Keras 2's (``Epoch 00001: val_loss improved from ...``), as in the seed notebooks.
    The model's own ``save`` / ``save_weights`` write atomically, so an interrupted save
    never damages the previous file.
    """

    writes_files = True  # in a distributed job, only rank 0 keeps it

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, period=None):
        super().__init__(monitor, mode)
        if period is not None:
            warnings.warn("`period` argument is deprecated. Please use `save_freq` to specify the "
                          "frequency in number of batches seen.", UserWarning, stacklevel=2)
            if not (isinstance(period, int) and period > 0):
                raise ValueError(f"ModelCheckpoint: period must be a positive number of epochs, got {period!r}")
        self.period = period or 1
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of "
                             f"batches, got {save_freq!r}")
        self.save_freq = save_freq
        self.reset_best(initial_value_threshold)
        self._epoch = 0
        self._batches_since_save = 0

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
        if self.save_freq == "epoch" and (epoch + 1) % self.period == 0:
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
        current = self._monitored(logs, "Saving the best model") if self.save_best_only else None
        if current is not None:  # without the monitored value Keras 3 saves anyway
            if not self._is_improvement(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1:05d}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1:05d}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1:05d}: saving model to {path}")
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
