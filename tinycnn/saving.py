"""Saving and loading models and weights; tinycnn's file format, one NumPy ``.npz`` archive.

Arrays are stored under plain keys; the description (architecture, compile settings,
names of the arrays) is JSON stored as a uint8 array under ``__tinycnn__``, so every file
loads with ``numpy.load(path, allow_pickle=False)``. Writes are atomic
(:func:`tinycnn.files.atomic_write`): an interrupted save never damages the previous file.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from . import losses, optimizers
from .files import atomic_write

META_KEY = "__tinycnn__"
FORMAT_VERSION = 1


def write_archive(path, meta: dict, arrays: dict) -> None:
    """Atomically write ``arrays`` and the JSON-able ``meta`` to ``path``."""
    payload = {META_KEY: np.frombuffer(json.dumps({**meta, "version": FORMAT_VERSION}).encode(), np.uint8)}
    payload.update(arrays)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **payload)


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
    try:
        with np.load(path, allow_pickle=False) as archive:
            if META_KEY not in archive:
                raise ValueError(f"{what}: {path!r} is an .npz file but was not written by tinycnn")
            meta = json.loads(archive[META_KEY].tobytes().decode())
            arrays = {key: archive[key] for key in archive.files if key != META_KEY}
    except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what}: {path!r} is damaged ({type(err).__name__}: {err}); it cannot be read: "
                         "save the model again, or use a backup") from None
    return meta, arrays


# ----- models and their weights ---------------------------------------------------------------
def weight_layout(model) -> list:
    """Per layer: name, type and weight shapes, stored beside the arrays to check a load."""
    return [{"name": layer.name, "type": type(layer).__name__,
             "shapes": [list(w.shape) for w in layer.weights]} for layer in model.layers]


def weight_arrays(model) -> dict:
    return {f"weights/{i}": w for i, w in enumerate(model.get_weights())}


def _is_keras_name(path) -> bool:
    return str(os.fspath(path)).lower().endswith((".h5", ".hdf5"))


def save_weights(model, filepath) -> None:
    """Write all weights to ``filepath``, atomically.

    A path ending in ``.h5`` or ``.hdf5`` (Keras's convention) gets Keras 3's
    ``.weights.h5`` HDF5 layout, which Keras 3's ``load_weights`` reads into the same
    architecture (needs h5py: ``pip install 'tinycnn[keras]'``); any other path gets
    tinycnn's ``.npz`` format."""
    if _is_keras_name(filepath):
        from . import keras_h5
        keras_h5.save_weights(model, filepath)
        return
    write_archive(filepath, {"kind": "weights", "layers": weight_layout(model)}, weight_arrays(model))


def load_weights(model, filepath) -> None:
    """Load weights written by :func:`save_weights` or :func:`save_model`, or by Keras (a
    Keras 3 ``.weights.h5`` or Keras 2 / tf.keras ``.h5`` file). The format is detected from
    the file's first bytes (HDF5 or tinycnn's zip archive), not its name. The layer list
    must match; the error names the first layer that does not."""
    path = os.fspath(filepath)
    if os.path.exists(path):
        from . import keras_h5
        if keras_h5.is_hdf5(path):
            keras_h5.load_weights(model, path)
            return
    meta, arrays = read_archive(filepath, "load_weights")
    set_weights_from(model, meta["layers"], arrays, "load_weights")


def set_weights_from(model, layout, arrays, what) -> None:
    """Check ``layout`` (from :func:`weight_layout`) against ``model``, then load ``arrays``."""
    for i, (layer, saved) in enumerate(zip(model.layers, layout)):
        shapes = [list(w.shape) for w in layer.weights]
        if shapes != saved["shapes"] or type(layer).__name__ != saved["type"]:
            raise ValueError(
                f'{what}: layer {i} "{layer.name}" ({type(layer).__name__}) has weights of shapes '
                f'{shapes}, but the file has {saved["shapes"]} for layer "{saved["name"]}" '
                f'({saved["type"]}): the file comes from another architecture')
    if len(layout) != len(model.layers):
        raise ValueError(f"{what}: the file has {len(layout)} layers, this model has {len(model.layers)}")
    missing = [f"weights/{i}" for i in range(len(model.weights)) if f"weights/{i}" not in arrays]
    if missing:
        raise ValueError(f"{what}: the file lacks the arrays {missing}: it is damaged or incomplete; "
                         "nothing was loaded")
    model.set_weights([arrays[f"weights/{i}"] for i in range(len(model.weights))])


def save_model(model, filepath) -> None:
    """The whole model. By the file name, as Keras: ``.h5`` / ``.hdf5`` Keras's legacy HDF5
    model, ``.keras`` Keras 3's zip (both load in Keras; they hold the architecture and the
    weights), anything else tinycnn's ``.npz`` archive, which also keeps the compile
    settings and optimizer state, so that :func:`load_model` resumes training exactly."""
    name = str(os.fspath(filepath)).lower()
    if name.endswith((".h5", ".hdf5")):
        from . import keras_h5
        keras_h5.save_model(model, filepath)
        return
    if name.endswith(".keras"):
        from . import keras_zip
        keras_zip.save_model(model, filepath)
        return
    meta = {"kind": "model", "class_name": model.config_kind, "model": model.get_config(),
            "layers": weight_layout(model)}
    arrays = weight_arrays(model)
    if model.optimizer is not None:
        meta["compile"] = {"optimizer": model.optimizer.get_config(),
                           "loss": [loss.get_config() for loss in model.output_losses],
                           "loss_weights": model.loss_weights,
                           "metrics": [m.name for m in model.compiled_metrics]}
        arrays.update({f"optimizer/{k}": v for k, v in model.optimizer.get_state().items()})
    write_archive(filepath, meta, arrays)


def load_model(filepath, classes: dict):
    """Rebuild a model written by :func:`save_model` (or by Keras: a ``.h5`` whole model or a
    ``.keras`` file, recognised by their content), as the class ``classes`` names for its kind
    (``{"Sequential": ..., "Functional": ...}``): weights, and for tinycnn's archive of a
    compiled model also optimizer, loss, metrics and optimizer state."""
    path = os.fspath(filepath)
    if os.path.exists(path):
        from . import keras_h5, keras_zip
        if keras_h5.is_hdf5(path):
            return keras_h5.load_model(path, classes)
        if keras_zip.is_keras_zip(path):
            return keras_zip.load_model(path, classes)
    meta, arrays = read_archive(filepath, "load_model")
    if meta.get("kind") != "model":
        raise ValueError(f"load_model: {filepath!r} holds only weights; build the model in code and "
                         "call model.load_weights(path)")
    model = classes[meta.get("class_name", "Sequential")].from_config(meta["model"])
    if "input_shape" in meta and not model.built:  # files of tinycnn 0.1.0 before build_input_shape
        model.build((None, *meta["input_shape"]))
    set_weights_from(model, meta["layers"], arrays, "load_model")
    if "compile" in meta:
        settings = meta["compile"]
        saved = settings["loss"] if isinstance(settings["loss"], list) else [settings["loss"]]
        model.compile(optimizer=optimizers.get(settings["optimizer"]),
                      loss=[losses.get(item) for item in saved] if len(saved) > 1 else losses.get(saved[0]),
                      metrics=settings["metrics"], loss_weights=settings.get("loss_weights"))
        state = {k[len("optimizer/"):]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        if state:
            model.optimizer.set_state(state, model.trainable_weights)
    return model
