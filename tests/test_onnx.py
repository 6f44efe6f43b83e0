"""ONNX export (tinycnn/onnx.py): every zoo model and a functional ResNet block, run by
onnxruntime's CPU provider, give model.predict's outputs (max abs difference < 1e-5, batch
1 and 7); the layouts the exporter handles (images as outputs, a flattened image read by
something other than Dense, shared layers, merges on images) and its refusals."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tinycnn import cli, layers, zoo
from tinycnn.layers import (Activation, AveragePooling2D, BatchNormalization, Concatenate, Conv2D, Dense, Dropout,
                            Flatten, GlobalMaxPooling2D, Input, Layer, MaxPooling2D, ReLU)
from tinycnn.models import Model, Sequential
from tinycnn.utils import set_random_seed

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'tinycnn[onnx]')")
onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'tinycnn[onnx]')")

sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
from functional_models import resnet_block_model  # noqa: E402

TOLERANCE = 1e-5  # float32 both sides; only the order of the sums differs


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = x if isinstance(x, dict) else {session.get_inputs()[0].name: x}
    return session.run(None, feeds)


def assert_same_as_predict(model, tmp_path, batches=(1, 7)):
    model.export(tmp_path / "m.onnx")
    for n in batches:
        x = np.random.default_rng(n).standard_normal((n, *model.input_shape[1:])).astype(np.float32)
        expected = model.predict(x, verbose=0)
        expected = expected if isinstance(expected, list) else [expected]
        for got, want in zip(run_onnx(tmp_path / "m.onnx", x), expected):
            assert got.shape == want.shape
            assert np.abs(got - want).max() < TOLERANCE


def with_moving_statistics(model, mean, variance):
    """``model`` with every BatchNormalization's moving statistics set away from 0 and 1."""
    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            layer.moving_mean.data[...] = mean
            layer.moving_variance.data[...] = variance
    return model


@pytest.mark.parametrize("name", list(zoo.ENTRIES))
def test_every_zoo_model_runs_in_onnxruntime_as_in_tinycnn(name, tmp_path):
    set_random_seed(0)
    assert_same_as_predict(zoo.build(name, compile=False), tmp_path)


def test_a_functional_resnet_block_runs_in_onnxruntime(tmp_path):
    set_random_seed(0)
    model = resnet_block_model(SimpleNamespace(layers=layers, Model=Model))
    assert_same_as_predict(with_moving_statistics(model, 0.3, 2.0), tmp_path)


def test_the_speedrun_network_runs_in_onnxruntime(tmp_path):
    """GELU (as Erf nodes), Rescaling, convolutions and Dense without bias, BN without gamma."""
    from tinycnn import speedrun
    set_random_seed(0)
    images = np.random.default_rng(0).standard_normal((20, 32, 32, 3)).astype(np.float32)
    model = speedrun.build_model(speedrun.Recipe(widths=(8, 16, 16)), speedrun.whitening_kernel(images))
    assert_same_as_predict(with_moving_statistics(model, 0.1, 1.5), tmp_path)


def test_layouts_images_as_outputs_flattened_images_and_shared_layers(tmp_path):
    set_random_seed(1)
    x = Input(shape=(9, 7, 3))
    h = Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    pooled = AveragePooling2D(2, strides=1, padding="same")(h)
    both = Concatenate()([h, pooled])
    flat = Flatten()(both)
    shared = Dense(5, name="shared")
    y = layers.Add()([shared(Activation("tanh")(flat)), shared(Dropout(0.5)(flat))])  # Gather path, Dense path
    g = GlobalMaxPooling2D()(ReLU(max_value=0.5)(BatchNormalization(center=False)(both)))
    model = Model(inputs=x, outputs=[y, both, g, flat])
    assert_same_as_predict(model, tmp_path)


def test_the_graph_is_checked_named_and_takes_nhwc_with_a_dynamic_batch(tmp_path):
    model = zoo.build("seed004_mnist_cnn", compile=False)
    model.export(tmp_path / "m.onnx")
    proto = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(proto)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [28, 28, 1]
    conv = next(node for node in proto.graph.node if node.op_type == "Conv")
    assert conv.doc_string == f"tinycnn layer {model.layers[0].name!r} (Conv2D)"
    assert [node.op_type for node in proto.graph.node].count("Transpose") == 1
    assert proto.opset_import[0].version == 17


def test_what_cannot_be_exported_is_refused_naming_the_layer(tmp_path):
    class Doubling(Layer):
        def call(self, x, training=False):
            return x * 2
    x = Input(shape=(4,))
    with pytest.raises(ValueError, match=r'layer "doubling\w*" \(Doubling\) cannot be exported to ONNX'):
        Model(x, Doubling()(x)).export(tmp_path / "m.onnx")
    seq = Sequential([Input(shape=(3, 4)), Dense(2)])
    with pytest.raises(ValueError, match=r"reads a 3-D tensor; .*add a Flatten"):
        seq.export(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="format='onnx' only"):
        seq.export(tmp_path / "m.pb", format="tf_saved_model")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_export(tmp_path, capsys):
    assert cli.main(["export", "seed004_mnist_mlp", str(tmp_path / "mlp.onnx")]) == 0
    assert "mlp.onnx" in capsys.readouterr().out
    x = np.zeros((2, 28, 28), np.float32)
    assert run_onnx(tmp_path / "mlp.onnx", x)[0].shape == (2, 10)
