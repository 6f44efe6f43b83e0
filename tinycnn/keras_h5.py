"""Keras weights files, both ways, through h5py (``pip install 'tinycnn[keras]'``).

Reading (:func:`load_weights`) understands the two HDF5 layouts Keras has written:

* **Keras 3** ``model.save_weights('x.weights.h5')``: a group ``layers/<key>/vars`` per
  layer, holding datasets ``0``, ``1``, ... in the layer's weight order. ``<key>`` is not the
  layer's name but its class name in snake case, numbered per class in the order of
  ``model.layers``: ``conv2d``, ``conv2d_1``, ``dense``, ``max_pooling2d``, ... (Keras 3's
  ``saving_lib``), so files port between models whatever their layers are called.
* **Keras 2 / tf.keras** ``model.save_weights('x.h5')`` (and the ``model_weights`` group of a
  whole-model ``model.save('x.h5')``): the root attribute ``layer_names`` lists the layers
  in order, each layer group's attribute ``weight_names`` lists its datasets in weight order.

Either way the file's layers that hold weights are matched, in order, with the model's layers
that hold weights, and every array must have the model's shape: a missing or extra layer or
a wrong shape raises ``ValueError`` naming the layer. Kernels are stored exactly as tinycnn
keeps them (Conv2D ``(kh, kw, in, out)``, Dense ``(in, out)``, Flatten in H, W, C order), so
no array is transposed.

Writing (:func:`save_weights`) produces Keras 3's layout, which Keras 3's
``model.load_weights`` reads into the same architecture.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from collections import defaultdict

import numpy as np

from . import keras_config
from .files import atomic_write

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
KERAS_VERSION = "3.15.1"  # the Keras whose file layouts tinycnn writes (and tests against)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading and writing Keras .h5 weights files needs h5py: "
                          "pip install 'tinycnn[keras]'  (or: pip install h5py)") from None
    return h5py


def is_hdf5(path) -> bool:
    """Whether the file at ``path`` starts with the HDF5 signature."""
    with open(os.fspath(path), "rb") as handle:
        return handle.read(8) == HDF5_SIGNATURE


def keras_key(class_name: str) -> str:
    """Keras's ``to_snake_case``: ``Conv2D`` -> ``conv2d``, ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras3_keys(layers) -> list[str]:
    """The group name Keras 3 gives each layer: class name in snake case, numbered per class."""
    used: dict = defaultdict(int)
    keys = []
    for layer in layers:
        base = keras_key(type(layer).__name__)
        count = used[base]
        used[base] += 1
        keys.append(base if count == 0 else f"{base}_{count}")
    return keys


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _read_keras2(root) -> list[tuple[str, list]]:
    """``[(layer name, [arrays])]`` for the layers with weights, in the file's order."""
    entries = []
    for name in (_text(n) for n in root.attrs["layer_names"]):
        if name not in root:
            raise ValueError(f"the file lists layer {name!r} in layer_names but has no group for it: "
                             "the file is damaged or incomplete")
        group = root[name]
        weight_names = [_text(w) for w in group.attrs.get("weight_names", [])]
        missing = [w for w in weight_names if w not in group]
        if missing:
            raise ValueError(f"layer {name!r} lists weights {missing} that the file does not hold: the file "
                             "is damaged or incomplete")
        if weight_names:
            entries.append((name, [np.asarray(group[w]) for w in weight_names]))
    return entries


@contextlib.contextmanager
def opened(path, what: str):
    """``h5py.File(path, 'r')``, with a damaged, truncated or foreign file (and a damaged
    layout inside it) reported as a ValueError naming the file."""
    h5py = _h5py()
    shown = "the file" if hasattr(path, "read") else repr(os.fspath(path))
    try:
        with h5py.File(path if hasattr(path, "read") else os.fspath(path), "r") as handle:
            yield handle
    except (OSError, KeyError, ValueError, UnicodeDecodeError) as err:
        if isinstance(err, ValueError) and str(err).startswith(what):
            raise
        raise ValueError(f"{what}: {shown} cannot be read as a Keras HDF5 file ({err}); it is damaged or "
                         "truncated: save it again, or use a backup") from None


def _read_keras3(root) -> dict:
    """``{group key: [arrays]}`` for the layer groups that hold weights."""
    found = {}
    for key, group in root["layers"].items():
        variables = group.get("vars")
        if variables is not None and len(variables):
            found[key] = [np.asarray(variables[str(i)]) for i in range(len(variables))]
    return found


def read(path) -> tuple[str, object]:
    """``('keras2', [(name, arrays), ...])`` or ``('keras3', {key: arrays})`` from a file
    (a path, or an open binary file such as a ``.keras`` archive's member)."""
    with opened(path, "load_weights") as handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        if "layer_names" in root.attrs:
            return "keras2", _read_keras2(root)
        if "layers" in root:
            return "keras3", _read_keras3(root)
    raise ValueError(f"load_weights: {path!r} is an HDF5 file but not a Keras weights file "
                     "(no 'layer_names' attribute as Keras 2 writes, no 'layers' group as Keras 3 writes)")


def _describe(layer) -> str:
    return f'layer "{layer.name}" ({type(layer).__name__})'


def _check_shapes(layer, arrays, source, what) -> None:
    expected = [tuple(w.shape) for w in layer.weights]
    given = [tuple(a.shape) for a in arrays]
    if expected != given:
        raise ValueError(f"{what}: {_describe(layer)} has weights of shapes {expected}, but the file "
                         f"has {given} for {source}: the file comes from another architecture")


def assignments(model, path, what="load_weights") -> list[tuple[object, list]]:
    """``[(layer, [arrays])]``: the file's arrays matched to the model's layers, checked."""
    kind, content = read(path)
    holders = [layer for layer in model.layers if layer.weights]
    pairs = []
    if kind == "keras2":
        for i, layer in enumerate(holders):
            if i >= len(content):
                raise ValueError(f"{what}: the file has weights for {len(content)} layers, but the model "
                                 f"has {len(holders)}; nothing in the file for {_describe(layer)}")
            name, arrays = content[i]
            _check_shapes(layer, arrays, f'layer "{name}"', what)
            pairs.append((layer, arrays))
        if len(content) > len(holders):
            extra = ", ".join(f'"{name}"' for name, _ in content[len(holders):])
            raise ValueError(f"{what}: the file has weights for {len(content)} layers, but the model has "
                             f"only {len(holders)}; no layer of the model for file layer(s) {extra}")
        return pairs
    keys = dict(zip(map(id, model.layers), keras3_keys(model.layers)))
    unused = dict(content)
    for layer in holders:
        key = keys[id(layer)]
        if key not in content:
            raise ValueError(f"{what}: the file has no weights for {_describe(layer)} (Keras 3 group "
                             f"'layers/{key}'); the file has {sorted(content)}: another architecture")
        _check_shapes(layer, content[key], f"'layers/{key}'", what)
        pairs.append((layer, content[key]))
        unused.pop(key)
    if unused:
        raise ValueError(f"{what}: the file has weights for layer(s) {sorted(unused)} that this model "
                         "lacks: the file comes from another architecture")
    return pairs


def load_weights(model, path) -> None:
    """Load a Keras 3 ``.weights.h5`` or Keras 2 ``.h5``/``.hdf5`` file into ``model``
    (all checks run before any weight is changed)."""
    for layer, arrays in assignments(model, path):
        layer.set_weights([np.asarray(a, dtype=w.dtype) for a, w in zip(arrays, layer.weights)])


def write_weights(handle, model) -> None:
    """Keras 3's weights layout into the open HDF5 file (or group) ``handle``."""
    layers = handle.create_group("layers")
    for layer, key in zip(model.layers, keras3_keys(model.layers)):
        variables = layers.create_group(key).create_group("vars")
        variables.attrs["name"] = layer.name
        for i, w in enumerate(layer.get_weights()):
            variables.create_dataset(str(i), data=w)
    handle.create_group("vars").attrs["name"] = model.name


def save_weights(model, path) -> None:
    """Write ``model``'s weights in Keras 3's ``.weights.h5`` layout, atomically."""
    h5py = _h5py()
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            write_weights(handle, model)


def save_model(model, path) -> None:
    """The whole model in Keras's legacy HDF5 format (``model.save('x.h5')``), which
    ``keras.models.load_model`` reads: the architecture as JSON in the ``model_config``
    attribute, and the weights under ``model_weights`` as Keras 2 writes them (attribute
    ``layer_names``; per layer a group with ``weight_names`` and one dataset per weight)."""
    h5py = _h5py()
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            handle.attrs["keras_version"] = KERAS_VERSION
            handle.attrs["backend"] = "tensorflow"
            handle.attrs["model_config"] = json.dumps(keras_config.to_keras(model, keras3=False))
            weights = handle.create_group("model_weights")
            weights.attrs["keras_version"] = KERAS_VERSION
            weights.attrs["backend"] = "tensorflow"
            weights.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
            for layer in model.layers:
                group = weights.create_group(layer.name)
                names = [f"{layer.name}/{w.name.rpartition('/')[2]}:0" for w in layer.weights]
                group.attrs["weight_names"] = [n.encode("utf8") for n in names]
                for name, value in zip(names, layer.get_weights()):
                    group.create_dataset(name, data=value)


def load_model(path, classes):
    """A model from a Keras legacy ``.h5`` full-model file: a model (of the class
    ``classes`` names for its kind) built from its ``model_config``, then its weights."""
    with opened(path, "load_model") as handle:
        config = handle.attrs.get("model_config")
        if config is None:
            raise ValueError(f"load_model: {os.fspath(path)!r} is a Keras weights file, not a whole model "
                             "(no 'model_config' attribute); build the model in code and call load_weights")
        config = json.loads(_text(config))  # bad UTF-8 or JSON: reported as a damaged file
    model = keras_config.from_keras(config, "load_model", classes)
    load_weights(model, path)
    return model
