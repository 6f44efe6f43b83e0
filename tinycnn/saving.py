"""The file format for weights and whole models: one NumPy ``.npz`` archive.

Arrays are stored under plain keys; the description (architecture, compile settings,
names of the arrays) is JSON stored as a uint8 array under ``__tinycnn__``, so every file
loads with ``numpy.load(path, allow_pickle=False)``. Writes are atomic: the archive is
written to a temporary file in the same folder and moved over the target only once it is
complete, so an interrupted save never damages the previous file.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

META_KEY = "__tinycnn__"
FORMAT_VERSION = 1


def write_archive(path, meta: dict, arrays: dict) -> None:
    """Atomically write ``arrays`` and the JSON-able ``meta`` to ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    payload = {META_KEY: np.frombuffer(json.dumps({**meta, "version": FORMAT_VERSION}).encode(), np.uint8)}
    payload.update(arrays)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_archive(path, what: str) -> tuple[dict, dict]:
    """Read a file written by :func:`write_archive`; ``what`` names the caller in errors."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what}: no file at {path!r}")
    with open(path, "rb") as handle:
        signature = handle.read(8)
    if signature.startswith(b"\x89HDF"):
        raise ValueError(f"{what}: {path!r} is an HDF5 file (Keras's own format); tinycnn reads "
                         "its .npz format here")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{what}: {path!r} is not a tinycnn weights or model file")
    with np.load(path, allow_pickle=False) as archive:
        if META_KEY not in archive:
            raise ValueError(f"{what}: {path!r} is an .npz file but was not written by tinycnn")
        meta = json.loads(archive[META_KEY].tobytes().decode())
        arrays = {key: archive[key] for key in archive.files if key != META_KEY}
    return meta, arrays
