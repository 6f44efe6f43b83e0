"""Whole models in Keras's files, both ways: ``model.save('x.h5')`` (Keras's legacy HDF5
model) and ``model.save('x.keras')`` (Keras 3's zip) load in real Keras 3 with the same
predictions (within 1e-5), and tinycnn loads the files Keras writes.

Keras runs in a child process (TensorFlow's threads and memory stay out of the test
process); the tests that need it skip, saying why, where ``keras`` is not installed
(``pip install 'tinycnn[interop]'``; CI installs it).
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tinycnn import layers, zoo
from tinycnn.models import Model, load_model
from tinycnn.utils import set_random_seed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference"))
from functional_models import resnet_block_model  # noqa: E402

ZOO_MODELS = ["seed000_cifar10", "seed001_model1", "seed001_model2", "seed002_cifar10_deep",
              "seed003_cifar10_small", "seed004_mnist_mlp", "seed004_mnist_cnn"]
BUILDERS = {**{name: (lambda name=name: zoo.build(name, compile=False)) for name in ZOO_MODELS},
            "functional_resnet_block": lambda: resnet_block_model(SimpleNamespace(layers=layers, Model=Model))}
MODELS = list(BUILDERS)
HAS_KERAS = importlib.util.find_spec("keras") is not None and importlib.util.find_spec("tensorflow") is not None
needs_keras = pytest.mark.skipif(not HAS_KERAS, reason="keras and tensorflow are not installed "
                                                       "(pip install 'tinycnn[interop]')")

KERAS_SCRIPT = r"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
import numpy as np
import keras
folder, names = sys.argv[1], json.loads(sys.argv[2])
for name in names:
    x = np.load(os.path.join(folder, name + ".x.npy"))
    for ext in ("h5", "keras"):
        model = keras.models.load_model(os.path.join(folder, f"{name}.{ext}"), compile=False)
        np.save(os.path.join(folder, f"{name}.{ext}.keras_predictions.npy"), model.predict(x, verbose=0))
    model.save(os.path.join(folder, name + ".by_keras.keras"))
    model.save(os.path.join(folder, name + ".by_keras.h5"))
"""


def saved_models(folder):
    """Each zoo model with new random weights, saved both ways, with a batch and its predictions."""
    predictions = {}
    for i, name in enumerate(MODELS):
        set_random_seed(i)
        model = BUILDERS[name]()
        x = np.random.default_rng(i).random((7, *model.input_shape[1:]), dtype=np.float32)
        np.save(folder / f"{name}.x.npy", x)
        predictions[name] = model.predict(x, verbose=0)
        model.save(folder / f"{name}.h5")
        model.save(folder / f"{name}.keras")
    return predictions


def test_tinycnn_reads_back_its_keras_files(tmp_path):
    predictions = saved_models(tmp_path)
    for name in MODELS:
        x = np.load(tmp_path / f"{name}.x.npy")
        for ext in ("h5", "keras"):
            model = load_model(tmp_path / f"{name}.{ext}")
            np.testing.assert_array_equal(model.predict(x, verbose=0), predictions[name], err_msg=f"{name}.{ext}")
            assert model.count_params() == BUILDERS[name]().count_params()
            assert type(model).__name__ == ("Model" if name.startswith("functional") else "Sequential")


def test_the_h5_file_is_keras_legacy_layout_and_the_keras_file_a_zip(tmp_path):
    import zipfile

    import h5py
    saved_models(tmp_path)
    with h5py.File(tmp_path / "seed004_mnist_cnn.h5") as handle:
        config = json.loads(handle.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert [entry["class_name"] for entry in config["config"]["layers"]][:2] == ["InputLayer", "Conv2D"]
        text = [n.decode() if isinstance(n, bytes) else str(n) for n in handle["model_weights"].attrs["layer_names"]]
        first = text[0]
        weight_names = [n.decode() if isinstance(n, bytes) else str(n)
                        for n in handle["model_weights"][first].attrs["weight_names"]]
        assert first.startswith("conv2d") and weight_names == [f"{first}/kernel:0", f"{first}/bias:0"]
    with zipfile.ZipFile(tmp_path / "seed004_mnist_cnn.keras") as archive:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(archive.namelist())


def test_a_functional_model_is_written_as_keras_functional_config(tmp_path):
    import zipfile

    import h5py
    model = BUILDERS["functional_resnet_block"]()
    model.save(tmp_path / "m.h5")
    model.save(tmp_path / "m.keras")
    with h5py.File(tmp_path / "m.h5") as handle:
        config = json.loads(handle.attrs["model_config"])
    add = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "Add")
    assert config["class_name"] == "Functional" and add["inbound_nodes"][0][0][1:] == [0, 0, {}]
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
    add = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "Add")
    tensors = add["inbound_nodes"][0]["args"][0]
    assert [t["class_name"] for t in tensors] == ["__keras_tensor__"] * 2
    assert config["config"]["input_layers"] == [model.layers[0].name, 0, 0]


def test_a_weights_file_is_not_a_model(tmp_path):
    model = zoo.build("seed004_mnist_mlp", compile=False)
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="is a Keras weights file, not a whole model"):
        load_model(tmp_path / "w.weights.h5")


@needs_keras
def test_keras_loads_tinycnn_models_and_tinycnn_loads_keras_models(tmp_path):
    predictions = saved_models(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path), json.dumps(MODELS)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in MODELS:
        scale = np.abs(predictions[name]).max()
        for ext in ("h5", "keras"):
            by_keras = np.load(tmp_path / f"{name}.{ext}.keras_predictions.npy")
            assert np.abs(by_keras - predictions[name]).max() / scale < 1e-5, (name, ext)
            model = load_model(tmp_path / f"{name}.by_keras.{ext}")   # Keras's own files, back in tinycnn
            x = np.load(tmp_path / f"{name}.x.npy")
            assert np.abs(model.predict(x, verbose=0) - predictions[name]).max() / scale < 1e-5, (name, ext)
