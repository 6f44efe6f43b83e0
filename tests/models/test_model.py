"""The functional API: Input, layers called on symbolic tensors, Model(inputs, outputs),
merge layers, and everything a model does (plan, fit, predict, summary, configs, files)
working on a graph. Keras parity of a ResNet block is in tests/parity/test_keras_parity.py."""
import numpy as np
import pytest

from tinycnn import Tensor, optimizers, plan
from tinycnn.layers import (Activation, Add, Average, Concatenate, Conv2D, Dense, Dropout, Flatten,
                            Input, MaxPooling2D, Maximum, Minimum, Multiply, Subtract)
from tinycnn.models import Model, Sequential, load_model
from tinycnn.utils import set_random_seed, to_categorical


def residual_model(seed=0):
    """Input -> conv -> (conv+relu+pool branch, pool branch) -> Add -> Concatenate -> softmax."""
    set_random_seed(seed)
    x = Input(shape=(8, 8, 2))
    h = Conv2D(4, 3, padding="same", activation="relu")(x)
    a = MaxPooling2D()(Conv2D(4, 3, padding="same", activation="relu")(h))   # fused in its chain
    b = MaxPooling2D()(h)
    s = Add()([a, b])
    c = Concatenate()([s, Multiply()([a, b])])
    y = Dense(3, activation="softmax")(Flatten()(c))
    return Model(inputs=x, outputs=y)


def data(n=16, shape=(8, 8, 2), seed=1):
    r = np.random.default_rng(seed)
    return r.random((n, *shape), dtype=np.float32), to_categorical(r.integers(0, 3, n), 3)


# ----- building -------------------------------------------------------------------------------
def test_layers_called_on_symbolic_tensors_record_the_graph():
    x = Input(shape=(4, 4, 1), name="pixels")
    conv = Conv2D(2, 3)
    y = conv(x)
    assert y.shape == (None, 2, 2, 2) and conv.input is x and conv.output is y
    assert y.node.layer is conv and y.node.inputs == [x]
    with pytest.raises(TypeError, match="is symbolic"):
        np.asarray(y)


def test_model_layers_inputs_outputs_and_shapes():
    model = residual_model()
    assert [type(layer).__name__ for layer in model.layers][:2] == ["InputLayer", "Conv2D"]
    assert model.input is model.inputs[0] and model.output is model.outputs[0]
    assert model.input_shape == (None, 8, 8, 2) and model.output_shape == (None, 3)
    assert model.count_params() == sum(layer.count_params() for layer in model.layers)


def test_a_graph_missing_an_input_is_refused_naming_the_layer():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    y = Add(name="sum")([a, b])
    with pytest.raises(ValueError, match='graph disconnected: layer "sum" needs'):
        Model(inputs=a, outputs=y)
    with pytest.raises(ValueError, match="inputs must be tensors made by Input"):
        Model(inputs=Dense(2)(a), outputs=y)
    with pytest.raises(TypeError, match="symbolic tensors"):
        Model(inputs=np.zeros((1, 3)), outputs=y)


@pytest.mark.parametrize("layer, inputs, message", [
    (Add(), lambda: Input(shape=(3,)), "must be called on a list of at least 2"),
    (Subtract(), lambda: [Input(shape=(3,))] * 3, "exactly 2"),
    (Add(), lambda: [Input(shape=(3,)), Input(shape=(4,))], "cannot be combined elementwise"),
    (Concatenate(), lambda: [Input(shape=(2, 3)), Input(shape=(3, 3))], "differ outside axis"),
])
def test_merge_layers_refuse_wrong_inputs_clearly(layer, inputs, message):
    with pytest.raises(ValueError, match=message):
        layer(inputs())


def test_merge_layers_compute_what_keras_documents():
    a, b = np.array([[1.0, -2.0, 3.0]], np.float32), np.array([[0.5, 4.0, -1.0]], np.float32)
    expected = {Add: a + b, Subtract: a - b, Multiply: a * b, Average: (a + b) / 2,
                Maximum: np.maximum(a, b), Minimum: np.minimum(a, b)}
    for cls, want in expected.items():
        np.testing.assert_allclose(cls()([a, b]).data, want, err_msg=cls.__name__)
    np.testing.assert_array_equal(Concatenate(axis=-1)([a, b]).data, np.concatenate([a, b], axis=-1))
    x, y = Input(shape=(5, 2)), Input(shape=(5, 3))
    assert Concatenate()([x, y]).shape == (None, 5, 5) and Concatenate(axis=1)([x, x]).shape == (None, 10, 2)


# ----- the feature-map idiom and several outputs -----------------------------------------------
def test_feature_maps_of_a_sequential_model():
    set_random_seed(3)
    model = Sequential([Conv2D(3, 3, activation="relu", input_shape=(6, 6, 1)), MaxPooling2D(), Flatten(), Dense(2)])
    x = np.random.default_rng(0).random((4, 6, 6, 1), dtype=np.float32)
    features = Model(inputs=model.input, outputs=model.layers[0].output)
    np.testing.assert_allclose(features.predict(x, verbose=0), model.layers[0](x).data, rtol=1e-6)
    both = Model(inputs=model.input, outputs=[model.layers[1].output, model.output])
    pooled, out = both.predict(x, verbose=0)
    assert pooled.shape == (4, 2, 2, 3)
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-6)


def test_a_sequential_model_built_on_data_has_inputs_and_outputs():
    model = Sequential([Dense(2), Dense(1)])
    with pytest.raises(AttributeError, match="has no input yet"):
        model.input
    model.predict(np.zeros((3, 5), np.float32), verbose=0)
    assert model.input.shape == (None, 5) and model.output.shape == (None, 1)
    assert model.layers[1].input is model.layers[0].output
    model.add(Dense(4))                         # a layer added after building extends the graph
    assert model.output.shape == (None, 4) and model.predict(np.zeros((2, 5)), verbose=0).shape == (2, 4)


def two_headed_model():
    """One trunk, a softmax head (3 classes) and a linear head (1 value)."""
    set_random_seed(0)
    x = Input(shape=(3,))
    h = Dense(16, activation="relu")(x)
    return Model(inputs=x, outputs=[Dense(3, activation="softmax", name="cls")(h), Dense(1, name="reg")(h)])


def test_a_model_of_several_outputs_predicts_a_list():
    model = two_headed_model()
    first, second = model.predict(np.ones((5, 3)), verbose=0)
    assert first.shape == (5, 3) and second.shape == (5, 1)
    empty = model.predict(np.ones((0, 3)), verbose=0)
    assert [e.shape for e in empty] == [(0, 3), (0, 1)]


def test_a_model_of_several_outputs_trains_on_the_weighted_sum_of_its_losses(tmp_path):
    r = np.random.default_rng(0)
    x = r.standard_normal((96, 3)).astype(np.float32)
    classes, value = to_categorical((x[:, 0] > 0).astype(int) + (x[:, 1] > 0), 3), x[:, 2:] * 2
    model = two_headed_model()
    model.compile(optimizer=optimizers.Adam(0.02), loss=["categorical_crossentropy", "mse"],
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics=["accuracy"])
    assert model.metrics_names == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_accuracy"]
    history = model.fit(x, [classes, value], epochs=40, batch_size=16, verbose=0, validation_split=0.25)
    logs = history.history
    assert logs["cls_accuracy"][-1] > 0.85 and logs["reg_loss"][-1] < 0.1 * logs["reg_loss"][0]
    np.testing.assert_allclose(logs["loss"][-1], logs["cls_loss"][-1] + 0.5 * logs["reg_loss"][-1], rtol=1e-4)
    assert "val_cls_loss" in logs
    results = model.evaluate(x, [classes, value], verbose=0, return_dict=True)
    assert set(results) == set(model.metrics_names)
    # the total is the weighted sum of the per-output losses Keras's own loss functions give
    from tinycnn import losses
    cls, reg = model.predict(x, verbose=0)
    expected = float(losses.CategoricalCrossentropy()(classes, cls).data) + 0.5 * float(losses.MeanSquaredError()(value, reg).data)
    assert results["loss"] == pytest.approx(expected, rel=1e-4)
    model.save(tmp_path / "two.npz")
    again = load_model(tmp_path / "two.npz")
    assert again.loss_weights == [1.0, 0.5]
    assert again.evaluate(x, [classes, value], verbose=0) == pytest.approx(model.evaluate(x, [classes, value], verbose=0))
    with pytest.raises(ValueError, match="2 outputs; give y as a list of 2 arrays"):
        model.fit(x, classes, verbose=0)
    with pytest.raises(ValueError, match="loss has 3 entries but the model has 2 outputs"):
        model.compile(optimizer="sgd", loss=["mse"] * 3)


def test_a_model_of_two_inputs_trains_on_a_list_of_arrays():
    set_random_seed(0)
    a, b = Input(shape=(2,)), Input(shape=(2,))
    y = Dense(1)(Concatenate()([a, b]))
    model = Model(inputs=[a, b], outputs=y)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse")
    r = np.random.default_rng(0)
    xa, xb = r.standard_normal((64, 2)), r.standard_normal((64, 2))
    target = xa[:, :1] - 2 * xb[:, 1:]
    history = model.fit([xa, xb], target, epochs=60, batch_size=16, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    assert model.predict([xa, xb], verbose=0).shape == (64, 1)
    with pytest.raises(ValueError, match=r"has 2 inputs .*give a list of 2 arrays"):
        model.predict(xa, verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.predict([xa, xb[:3]], verbose=0)


# ----- the plan on a graph ---------------------------------------------------------------------
def test_the_plan_fuses_inside_branches_and_splits_where_a_tensor_is_read_twice():
    model = residual_model()
    program = plan.for_model(model)
    assert len(program.segments) == 6   # conv | conv+pool | pool | add | multiply | concat..dense
    lines = model.plan(print_fn=lambda line: None)
    assert any("F.conv2d(relu=True, pool=True)" in line for line in lines)
    assert sum(line.startswith("chain reading") for line in lines) == 6


def test_the_fused_graph_gives_the_unfused_values_and_gradients(monkeypatch):
    model = residual_model()
    x, y = data()

    def loss_and_grads():
        for w in model.weights:
            w.grad = None
        loss, _, _ = plan.loss_and_predictions(plan.for_model(model), [Tensor(x)], [y], [cross_entropy], [1.0], True)
        loss.backward()
        return float(loss.data), [w.grad.copy() for w in model.trainable_weights]

    from tinycnn.losses import CategoricalCrossentropy
    cross_entropy = CategoricalCrossentropy()
    fused = loss_and_grads()
    monkeypatch.setattr(plan, "FUSE", False)
    unfused = loss_and_grads()
    assert fused[0] == pytest.approx(unfused[0], rel=1e-5)
    for a, b in zip(fused[1], unfused[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# ----- training -------------------------------------------------------------------------------
def test_a_residual_model_learns():
    set_random_seed(0)
    r = np.random.default_rng(0)
    labels = r.integers(0, 3, 240)
    x = r.normal(0, 0.3, (240, 8, 8, 2)).astype(np.float32)
    x[np.arange(240), labels * 2, :, labels % 2] += 2.0           # a bright row whose place is the class
    model = residual_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:200], to_categorical(labels[:200], 3), epochs=8, batch_size=20, verbose=0)
    loss, accuracy = model.evaluate(x[200:], to_categorical(labels[200:], 3), verbose=0)
    assert accuracy >= 0.9, (loss, accuracy)


# ----- summary ----------------------------------------------------------------------------------
def test_summary_of_a_graph_has_the_connected_to_column():
    lines = []
    residual_model().summary(print_fn=lines.append)
    assert lines[2].rstrip().endswith("Connected to")
    add_row = next(i for i, line in enumerate(lines) if "(Add)" in line)
    assert lines[add_row].rstrip().endswith("[0][0]") and lines[add_row + 1].strip().endswith("[0][0]")
    assert lines[add_row + 1].startswith(" ")   # the second input on its own line, as Keras 2
    assert next(line for line in lines if "(InputLayer)" in line).rstrip().endswith("-")
    chain = []
    Sequential([Dense(2, input_shape=(3,))]).summary(print_fn=chain.append)
    assert "Connected to" not in chain[2]


# ----- configs and files ---------------------------------------------------------------------------
def shared_layer_model():
    """One Dense layer called on two inputs (two nodes), the results averaged."""
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared = Dense(2, name="shared")
    y = Average()([shared(a), shared(b)])
    return Model(inputs=[a, b], outputs=y, name="siamese")


def test_config_round_trip_keeps_the_graph_and_shared_layers():
    model = shared_layer_model()
    config = model.get_config()
    shared = next(entry for entry in config["layers"] if entry["config"]["name"] == "shared")
    assert len(shared["inbound_nodes"]) == 2 and shared["inbound_nodes"][1][0][1:] == [0, 0]
    again = Model.from_config(config)
    again.set_weights(model.get_weights())
    x = [np.ones((2, 3)), np.arange(6.0).reshape(2, 3)]
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert again.name == "siamese" and len(again.inputs) == 2


def test_save_and_load_resume_training_exactly(tmp_path):
    x, y = data(32)
    model = residual_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert type(loaded) is Model
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    a = model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history["loss"]
    b = loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False).history["loss"]
    assert a == b


@pytest.mark.parametrize("name", ["w.npz", "w.weights.h5"])
def test_weights_files_round_trip(tmp_path, name):
    pytest.importorskip("h5py", reason="h5py is needed for .h5 files (pip install 'tinycnn[keras]')")
    model, other = residual_model(0), residual_model(1)
    model.save_weights(tmp_path / name)
    other.load_weights(tmp_path / name)
    x, _ = data(4)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_files_of_a_graph_round_trip(tmp_path):
    pytest.importorskip("h5py", reason="h5py is needed for Keras files (pip install 'tinycnn[keras]')")
    model = residual_model()
    x, _ = data(4)
    for name in ("m.h5", "m.keras"):
        model.save(tmp_path / name)
        loaded = load_model(tmp_path / name)
        assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_dropout_in_a_graph_follows_training_and_profiles():
    x = Input(shape=(100,))
    model = Model(x, Dropout(0.5)(x))
    ones = np.ones((2, 100), np.float32)
    np.testing.assert_array_equal(model(ones).data, ones)
    assert (model(Tensor(ones), training=True).data == 0).any()
    rows = model.profile(ones, repeats=1, print_fn=lambda line: None)
    assert [row["layer"] for row in rows] == [f"{model.layers[1].name} (Dropout)"]


def test_plot_layer_output_uses_the_graph():
    from tinycnn import plot
    model = residual_model()
    x, _ = data(1)
    add = next(layer for layer in model.layers if isinstance(layer, Add))
    expected = Model(inputs=model.input, outputs=add.output).predict(x, verbose=0)[0]
    np.testing.assert_array_equal(plot.layer_output(model, x[0], add.name), expected)
    assert plot.layer_output(model, x[0], add).shape == (4, 4, 4)
