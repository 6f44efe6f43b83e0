"""The zoo's seed models are the seed notebooks' models, layer by layer.

Each notebook's model cell is read from its transcription in ``../shared/seeds/`` and run
as it is written there, with ``keras`` (and ``tensorflow.keras``) modules that are
tinycnn's; the model it builds must equal the zoo's, layer type by layer type and
argument by argument (names aside), and have the parameter count the notebook printed.
The damaged lines the seeds' README lists are read as their obvious originals (REPAIRS).
"""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import tinycnn
from tinycnn import callbacks, constraints, layers, models, optimizers, utils, zoo

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# (zoo name, notebook file prefix, a line that starts the model's cell, the variable it builds,
#  the total the notebook printed: its summary, or for 000 (no summary printed) the seeds' README)
CELLS = [
    ("seed000_cifar10", "000", "model = Sequential()", "model", 543_210),
    ("seed001_model1", "001", "model_1 = Sequential()", "model_1", 181_162),
    ("seed001_model2", "001", "model_2 = Sequential()", "model_2", 252_378),
    ("seed002_cifar10_deep", "002", "model = Sequential()", "model", 2_915_114),
    ("seed003_cifar10_small", "003", "model = Sequential()", "model", 528_054),
    ("seed004_mnist_mlp", "004", "model = Sequential()", "model", 669_706),
    ("seed004_mnist_cnn", "004", "# build the model object", "model", 220_234),
]
# The transcription's damaged lines (see the seeds' README), as their obvious originals.
REPAIRS = {
    "Flatten, Dense, Dropout, Glob\n": "Flatten, Dense, Dropout, GlobalAveragePooling2D\n",
    "activation='relu', input_shape=(\n": "activation='relu', input_shape=(28, 28, 1)))\n",
    "Flatten,\nDense, Dropout": "Flatten, Dense, Dropout",
}


def keras_modules() -> dict:
    """``keras`` and ``tensorflow.keras`` (and their sub-modules) as tinycnn's modules."""
    keras = types.ModuleType("keras")
    parts = {"models": models, "layers": layers, "optimizers": optimizers, "constraints": constraints,
             "callbacks": callbacks, "utils": utils}
    for name, module in parts.items():
        setattr(keras, name, module)
    tensorflow = types.ModuleType("tensorflow")
    tensorflow.keras = keras
    table = {"keras": keras, "tensorflow": tensorflow, "tensorflow.keras": keras}
    for name, module in parts.items():
        table[f"keras.{name}"] = table[f"tensorflow.keras.{name}"] = module
    return table


def model_cell(prefix: str, start: str) -> str:
    """The code of the notebook cell holding ``start``, from that line to the cell's end."""
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    for damaged, repaired in REPAIRS.items():
        text = text.replace(damaged, repaired)
    begin = text.index(start)
    cell_start = text.rfind("```", 0, begin) + 3
    cell_end = text.index("```", begin)
    code = text[cell_start:cell_end]
    return re.sub(r"^In \[\d*\]: ", "", code.lstrip("\n"), flags=re.M)


def run_cell(prefix, start, variable, monkeypatch):
    for name, module in keras_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    # the CIFAR-10 cells take their input shape from the data; the MNIST ones state it
    # and the names the notebooks' earlier cells import (keras, Sequential, the layers, maxnorm, SGD)
    namespace = {"x_train": np.zeros((2, 32, 32, 3), np.float32), "num_classes": 10, "np": np,
                 "keras": sys.modules["keras"], "Sequential": models.Sequential, "maxnorm": constraints.maxnorm,
                 "SGD": optimizers.SGD, **{name: getattr(layers, name) for name in layers.__all__}}
    code = model_cell(prefix, start).replace("model.summary()", "").replace(f"{variable}.summary()", "")
    exec(compile(code, f"<seed {prefix}>", "exec"), namespace)
    return namespace[variable]


def described(model) -> list:
    """Each layer's type and configuration, without its (numbered) name."""
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in model.layers]


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed notebooks are not at {SEEDS}")
@pytest.mark.parametrize("name, prefix, start, variable, total", CELLS, ids=[c[0] for c in CELLS])
def test_the_zoo_model_is_the_notebooks_model(name, prefix, start, variable, total, monkeypatch):
    from_notebook = run_cell(prefix, start, variable, monkeypatch)
    from_zoo = zoo.build(name, compile=False)
    assert described(from_zoo) == described(from_notebook)
    assert from_zoo.input_shape == from_notebook.input_shape
    assert from_zoo.count_params() == from_notebook.count_params() == total
    assert zoo.get(name).params == total


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the seed notebooks are not at {SEEDS}")
def test_the_cell_reader_fails_on_another_architecture(monkeypatch):
    """The comparison can fail: model_1's cell does not build model_2."""
    model_1 = run_cell("001", "model_1 = Sequential()", "model_1", monkeypatch)
    assert described(model_1) != described(zoo.build("seed001_model2", compile=False))
    assert isinstance(model_1, tinycnn.Sequential)
