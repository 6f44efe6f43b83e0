"""CSVLogger: one row of epoch logs per epoch in a CSV file."""
from __future__ import annotations

import csv
import os

import numpy as np

from .callback import Callback


class CSVLogger(Callback):
    """Writes one row per epoch to ``filename``: ``epoch`` (from 0) and the log keys in
    sorted order. As in Keras 3, when the first epoch has no ``val_*`` entries the columns
    ``val_<key>`` are still added (and hold ``NA``), so later validation fits the header.
    ``append=True`` continues an existing file without repeating its header."""

    writes_files = True  # in a distributed job, only rank 0 keeps it

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        write_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                write_header = not existing.readline()
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._write_header = write_header
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self._writer is None:
            self._writer = csv.writer(self._file, delimiter=self.sep)
            if self._write_header:
                self._writer.writerow(["epoch", *self.keys])
        self._writer.writerow([epoch, *(_csv_value(logs.get(k, "NA")) for k in self.keys)])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


def _csv_value(value):
    if isinstance(value, str) or np.ndim(value) == 0:
        return value
    return "[" + ", ".join(map(str, np.ravel(value))) + "]"
