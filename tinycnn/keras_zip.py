"""Keras 3's ``.keras`` files, both ways: a zip holding ``config.json`` (the architecture,
:mod:`tinycnn.keras_config`), ``metadata.json`` (the Keras version and date) and
``model.weights.h5`` (the weights, in the ``.weights.h5`` layout of :mod:`tinycnn.keras_h5`).
"""
from __future__ import annotations

import datetime
import io
import json
import os
import zipfile

from . import keras_config, keras_h5
from .files import atomic_write

MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def is_keras_zip(path) -> bool:
    """Whether the file at ``path`` is a zip with a ``.keras`` file's members."""
    if not zipfile.is_zipfile(os.fspath(path)):
        return False
    with zipfile.ZipFile(os.fspath(path)) as archive:
        names = set(archive.namelist())
    return "config.json" in names and "model.weights.h5" in names


def save_model(model, path) -> None:
    """``model`` as a ``.keras`` file that ``keras.models.load_model`` reads, atomically."""
    h5py = keras_h5._h5py()
    weights = io.BytesIO()
    with h5py.File(weights, "w") as handle:
        keras_h5.write_weights(handle, model)
    config = keras_config.to_keras(model)
    if config["class_name"] == "Sequential":  # a functional model is built by its graph
        config["build_config"] = {"input_shape": [None, *model.input_shape[1:]]}
    metadata = {"keras_version": keras_h5.KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"), "saved_by": "tinycnn"}
    with atomic_write(path) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
            archive.writestr("config.json", json.dumps(config))
            archive.writestr("model.weights.h5", weights.getvalue())


def load_model(path, classes):
    """A model from a ``.keras`` file: a model (of the class ``classes`` names
    for its kind) built from its
    ``config.json``, then the weights of its ``model.weights.h5``."""
    path = os.fspath(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        weights = io.BytesIO(archive.read("model.weights.h5"))
    model = keras_config.from_keras(config, "load_model", classes)
    keras_h5.load_weights(model, weights)
    return model
