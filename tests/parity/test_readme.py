"""The README's Keras-to-tinycnn example runs as written (with 1 epoch instead of 3)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_block_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_keras_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """Seeded, though the example is not (as in Keras): over 15 seeds its single epoch ended
    at 0.80 to 0.92 test accuracy, and one unseeded run at 0.53, so an unseeded check of
    > 0.8 fails now and then. Seed 0 gives 0.90."""
    from tinycnn.utils import set_random_seed
    code = python_block_after("## From Keras to tinycnn")
    assert "epochs=3" in code
    monkeypatch.chdir(tmp_path)
    set_random_seed(0)
    namespace = {}
    exec(compile(code.replace("epochs=3", "epochs=1"), "README.md", "exec"), namespace)
    loss, accuracy = namespace["model"].evaluate(namespace["x_test"], namespace["y_test"], verbose=0)
    assert accuracy > 0.8
    out = capsys.readouterr().out
    assert "Total params: 220,234" in out
    assert "val_loss improved from inf" in out
    assert (tmp_path / "model.weights.best.hdf5").exists()


def test_functional_example_runs_as_written(capsys):
    import numpy as np
    namespace = {}
    exec(compile(python_block_after("### The functional API"), "README.md", "exec"), namespace)
    model = namespace["model"]
    out = capsys.readouterr().out
    assert "Connected to" in out and "(Add)" in out
    assert model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0).shape == (2, 10)
    model.fit(np.zeros((4, 32, 32, 3)), np.eye(10)[:4], epochs=1, verbose=0)


def test_onnx_snippet_runs_as_written(tmp_path, monkeypatch, capsys):
    import pytest
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'tinycnn[onnx]')")
    from tinycnn import zoo
    monkeypatch.chdir(tmp_path)
    zoo.build("seed004_mnist_cnn", compile=False).export("model.onnx")
    exec(compile(python_block_after("### Running a model elsewhere: ONNX"), "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("[") and len(printed.strip("[]").split()) == 7
