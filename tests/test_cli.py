"""The tinycnn command: the README's main job, the other commands, one-line errors."""
import json

import numpy as np
import pytest
from PIL import Image

from tinycnn import cli
from tinycnn.datasets import mnist_sample


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """`tinycnn train` as the README runs it (default model and embedded dataset), with one
    epoch instead of three to keep the suite quick."""
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "--epochs", "1", "--out", str(out), "--verbose", "2"]) == 0
    return out


def test_train_writes_weights_history_and_pictures(trained_run, capsys):
    for name in ("model.npz", "best.weights.npz", "history.csv", "history.json", "curves.png",
                 "predictions.png", "confusion.png", "classes.json"):
        assert (trained_run / name).stat().st_size > 0, name
    history = json.loads((trained_run / "history.json").read_text())
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 1
    assert history["val_accuracy"][0] > 0.8  # one epoch on 5400 digits


def test_evaluate_reports_the_test_accuracy(trained_run, capsys):
    assert cli.main(["evaluate", str(trained_run / "model.npz")]) == 0
    line = capsys.readouterr().out.strip()
    accuracy = float(line.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.8 and line.endswith("(1000 images)")


def test_predict_classifies_image_files(trained_run, tmp_path, capsys):
    (_, _), (x_test, y_test) = mnist_sample.load_data()
    paths = []
    for i in range(5):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(x_test[i * 100]).save(path)
        paths.append(str(path))
    assert cli.main(["predict", *paths, "--model", str(trained_run / "model.npz")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    predicted = [int(line.split(": ")[1].split(" ")[0]) for line in lines]
    assert sum(p == y_test[i * 100] for i, p in enumerate(predicted)) >= 4


def test_summary_prints_the_table(capsys):
    assert cli.main(["summary", "seed004_mnist_cnn"]) == 0
    assert "Total params: 220,234" in capsys.readouterr().out


def test_profile_prints_per_layer_rows(capsys):
    import tinycnn
    before = tinycnn.get_backend().name
    assert cli.main(["profile", "seed004_mnist_mlp", "--batch-size", "4", "--backend", "numpy"]) == 0
    assert tinycnn.get_backend().name == before   # --backend does not outlive the command
    out = capsys.readouterr().out
    assert "kernel tier: numpy" in out
    assert [line.split()[1] for line in out.splitlines() if line.startswith(("flatten", "dense"))] == \
        ["(Flatten)", "(Dense)", "(Dense)", "(Dense)"]


def test_datasets_lists_the_cache_and_the_embedded_sample(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TINYCNN_HOME", str(tmp_path))
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "mnist_sample.npz" in out


@pytest.mark.parametrize("argv, message, status", [
    (["train", "--model", "resnet"], "unknown model 'resnet'; the zoo has: cifar10_cnn", 2),
    (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet': use one of mnist_sample, mnist", 2),
    (["train", "--dataset", "missing.npz"], "dataset file not found: missing.npz", 1),
    (["train", "--model", "seed003_cifar10_small"], "expects images of shape (32, 32, 3), but the dataset's are (28, 28, 1)", 2),
    (["predict", "nothere.png", "--model", "nothere.npz"], "model file not found: nothere.npz", 1),
])
def test_errors_are_one_clear_line(argv, message, status, capsys):
    assert cli.main(argv) == status
    err = capsys.readouterr().err
    assert err.startswith("tinycnn: error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
