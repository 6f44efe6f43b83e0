"""Sequential: training that really learns, saving and resuming, callbacks inside fit, and
the errors a user meets first."""
import os

import numpy as np
import pytest

import tinycnn
from tinycnn import callbacks, optimizers
from tinycnn.layers import (Activation, Conv2D, Dense, Dropout, Flatten, GlobalMaxPooling2D, Input,
                            MaxPooling2D)
from tinycnn.models import Sequential, load_model
from tinycnn.utils import set_random_seed, to_categorical


def bars(n, size=12, seed=0):
    """Images holding one bright bar, horizontal (label 0) or vertical (label 1), 4 pixels
    long at a random place, on faint noise. Every image has the same number of bright
    pixels, so only the spatial arrangement tells the classes apart."""
    r = np.random.default_rng(seed)
    x = r.uniform(0, 0.1, size=(n, size, size, 1)).astype(np.float32)
    y = r.integers(0, 2, size=n)
    for i in range(n):
        a, b = r.integers(0, size - 4), r.integers(0, size)
        if y[i] == 0:
            x[i, b, a:a + 4, 0] = 1.0
        else:
            x[i, a:a + 4, b, 0] = 1.0
    return x, y


def bar_model(kernel):
    return Sequential([
        Input(shape=(12, 12, 1)),
        Conv2D(8, kernel, activation="relu", padding="same"),
        GlobalMaxPooling2D(),
        Dense(2, activation="softmax"),
    ])


def test_a_cnn_learns_bar_orientation_that_a_space_blind_model_cannot():
    """With 3x3 kernels the model can see a bar's direction; with 1x1 kernels (each pixel
    alone, then a global max) it sees only intensities, which are the same for both
    classes, so it stays near chance. Measured: 3x3 reaches 1.00 test accuracy, 1x1 about
    0.5."""
    x, y = bars(600, seed=1)
    x_test, y_test = bars(300, seed=2)
    results = {}
    for kernel in (3, 1):
        set_random_seed(0)
        model = bar_model(kernel)
        model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x, y, batch_size=32, epochs=8, verbose=0)
        results[kernel] = model.evaluate(x_test, y_test, verbose=0)[1]
    assert results[3] >= 0.95, results
    assert results[1] <= 0.65, results


def small_dense_model(seed=0):
    set_random_seed(seed)
    model = Sequential([Input(shape=(6,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def toy_data(n=64, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 6)).astype(np.float32)
    y = to_categorical((x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int), 3)
    return x, y


def test_fit_returns_history_with_train_and_validation_logs():
    model = small_dense_model()
    x, y = toy_data()
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert model.history is history
    # val_* is the inference-mode evaluation of the held-out last quarter at epoch end
    val = model.evaluate(x[48:], y[48:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val[0], rel=1e-6)


def test_epoch_loss_is_the_batch_size_weighted_mean_of_batch_losses():
    model = small_dense_model()
    x, y = toy_data(n=40)
    batch_losses = []
    record = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: batch_losses.append(logs["loss"]))
    history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    # logs passed to on_batch_end are running means; recover each batch's own loss
    seen = np.array([16, 32, 40])
    own = np.diff(np.concatenate([[0.0], np.array(batch_losses) * seen])) / np.diff(np.concatenate([[0], seen]))
    assert history.history["loss"][0] == pytest.approx(float((own * [16, 16, 8]).sum() / 40), rel=1e-9)


def test_save_and_load_model_reproduce_predictions_exactly(tmp_path):
    model = small_dense_model()
    x, y = toy_data()
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    assert restored.optimizer.get_config() == model.optimizer.get_config()


def test_training_resumed_after_load_model_follows_the_same_trajectory(tmp_path):
    x, y = toy_data()
    model = small_dense_model()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    model.save(tmp_path / "half.npz")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    resumed = load_model(tmp_path / "half.npz")
    resumed.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_weights_and_load_weights_round_trip(tmp_path):
    model = small_dense_model(seed=1)
    other = small_dense_model(seed=2)
    model.save_weights(tmp_path / "w.npz")
    other.load_weights(tmp_path / "w.npz")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_from_another_architecture_name_the_first_mismatching_layer(tmp_path):
    small_dense_model().save_weights(tmp_path / "w.npz")
    wider = Sequential([Input(shape=(6,)), Dense(8, activation="relu"), Dense(4)])
    with pytest.raises(ValueError, match=r'layer 1 "dense_\d+" \(Dense\) has weights of shapes '
                                         r"\[\[8, 4\], \[4\]\], but the file has \[\[8, 3\], \[3\]\]"):
        wider.load_weights(tmp_path / "w.npz")


def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model = small_dense_model()
    target = tmp_path / "best.npz"
    model.save(target)
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut while writing")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["best.npz"]  # no half-written temporary left behind


def test_model_checkpoint_in_fit_saves_only_on_improvement(tmp_path):
    model = small_dense_model()
    x, y = toy_data()
    saves = []
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best.npz"), monitor="loss", save_best_only=True)
    original = model.save
    model.save = lambda path, **kw: (saves.append(path), original(path))
    losses = model.fit(x, y, epochs=4, verbose=0, callbacks=[checkpoint]).history["loss"]
    improvements = sum(1 for i, v in enumerate(losses) if v < min([np.inf] + losses[:i]))
    assert len(saves) == improvements
    assert load_model(tmp_path / "best.npz").count_params() == model.count_params()


def test_early_stopping_in_fit_stops_and_restores_best_weights():
    model = small_dense_model()
    x, y = toy_data()
    model.compile(optimizer=optimizers.SGD(learning_rate=5.0), loss="categorical_crossentropy")
    stopper = callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) < 30


def test_learning_rate_scheduler_changes_the_rate_the_optimizer_uses():
    model = small_dense_model()
    x, y = toy_data()
    seen = []
    schedule = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    spy = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    model.fit(x, y, epochs=3, verbose=0, callbacks=[schedule, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_fit_on_an_iterator_of_batches_uses_its_length():
    model = small_dense_model()
    x, y = toy_data(n=48)

    class Batches:
        def __len__(self):
            return 3

        def __iter__(self):
            while True:
                for i in range(3):
                    yield x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)]

    steps = []
    spy = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: steps.append(batch))
    model.fit(Batches(), epochs=2, verbose=0, callbacks=[spy])
    assert steps == [0, 1, 2, 0, 1, 2]


def test_nan_loss_stops_training_without_touching_the_weights(capsys):
    model = small_dense_model()
    x, y = toy_data()
    x[20] = np.nan
    before = model.get_weights()
    history = model.fit(x, y, batch_size=64, epochs=5, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert "the loss is nan; training stopped" in capsys.readouterr().out


def test_train_and_test_on_batch_report_loss_and_metrics():
    model = small_dense_model()
    x, y = toy_data(n=16)
    loss, acc = model.test_on_batch(x, y)
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0)[0])
    before = model.get_weights()
    assert model.train_on_batch(x, y)[0] == pytest.approx(loss)  # loss measured before the step
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x))


# ----- errors ----------------------------------------------------------------------------
def test_input_shape_mismatch_says_expected_and_got():
    model = Sequential([Input(shape=(28, 28, 1)), Flatten(), Dense(10)])
    model.compile(loss="mse")
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 28, 28, 1\), got data of "
                                         r"shape \(5, 28, 28\) \(add the channel axis"):
        model.predict(np.zeros((5, 28, 28)))


def test_labels_of_the_wrong_length_or_width():
    model = small_dense_model()
    x, y = toy_data(n=10)
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match=r"targets have shape \(10, 4\) but predictions have shape \(10, 3\)"):
        model.fit(x, to_categorical(np.arange(10) % 4, 4), verbose=0)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'relux'; valid names: .*relu"):
        Dense(3, activation="relux")
    with pytest.raises(ValueError, match="unknown initializer 'glorot'; valid names: .*glorot_uniform"):
        Sequential([Input(shape=(2,)), Dense(3, kernel_initializer="glorot")])
    model = small_dense_model()
    with pytest.raises(ValueError, match="(?i)unknown optimizer.*rmsprop"):
        model.compile(optimizer="rmsprob", loss="mse")
    with pytest.raises(ValueError, match="(?i)unknown loss.*categorical_crossentropy"):
        model.compile(optimizer="sgd", loss="cross_entropy")


def test_fit_before_compile_says_to_compile():
    model = Sequential([Input(shape=(2,)), Dense(1)])
    with pytest.raises(RuntimeError, match=r"must be compiled first: call model.compile"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)))


def test_a_backend_switch_does_not_change_training(restore_backend):
    x, y = bars(64, seed=3)
    weights = {}
    for tier in tinycnn.available_backends():
        tinycnn.set_backend(tier)
        set_random_seed(0)
        model = Sequential([Input(shape=(12, 12, 1)), Conv2D(4, 3, strides=2, padding="same", activation="relu"),
                            MaxPooling2D(2, padding="same"), Flatten(), Dropout(0.3), Dense(2, activation="softmax")])
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        weights[tier] = model.get_weights()
    for tier, ws in weights.items():
        for a, b in zip(ws, weights["reference"]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=tier)


def notebook_style_model():
    """Keras 2 notebook style: activations as separate layers after linear ones, pooling."""
    return Sequential([Conv2D(5, 3, strides=2, padding="same", input_shape=(9, 9, 2)), Activation("relu"),
                       Conv2D(4, 3), Activation("relu"), MaxPooling2D(2), Conv2D(3, 1, activation="relu"),
                       Flatten(), Dense(3), Activation("softmax")])


def test_joined_steps_give_the_values_and_gradients_of_running_the_layers_one_by_one(tier):
    set_random_seed(1)
    model = notebook_style_model()
    x = tinycnn.Tensor(np.random.default_rng(2).normal(size=(6, 9, 9, 2)).astype(np.float32))
    target = np.random.default_rng(3).random((6, 3)).astype(np.float32)
    results = []
    for run in (lambda h: model(h, training=True), lambda h: [h := layer(h, training=True) for layer in model.layers][-1]):
        for w in model.weights:
            w.grad = None
        out = run(x)
        tinycnn.functional.mean(tinycnn.functional.mean_squared_error(target, out)).backward()
        results.append([out.data] + [w.grad for w in model.weights])
    for joined, one_by_one in zip(*results):
        np.testing.assert_allclose(joined, one_by_one, rtol=1e-6, atol=1e-7)


def spy(monkeypatch, names):
    """Record ``(kernel name, input shape)`` for each call of the named kernels."""
    backend, calls = tinycnn.get_backend(), []
    for name in names:
        kernel = getattr(backend, name)
        monkeypatch.setattr(backend, name, lambda *a, _k=kernel, _n=name: calls.append((_n, a[0].shape)) or _k(*a))
    return calls


def test_conv2d_then_activation_relu_then_pooling_run_the_fused_kernels(monkeypatch):
    calls = spy(monkeypatch, ["conv2d_forward", "conv2d_relu_forward", "conv2d_max_pool_values", "max_pool2d_values"])
    notebook_style_model().predict_on_batch(np.zeros((2, 9, 9, 2), np.float32))
    assert calls == [("conv2d_relu_forward", (2, 9, 9, 2)), ("conv2d_max_pool_values", (2, 5, 5, 5)),
                     ("conv2d_relu_forward", (2, 1, 1, 4))]


def test_in_training_the_joined_pooling_keeps_its_winners_for_the_backward(monkeypatch):
    calls = spy(monkeypatch, ["conv2d_relu_forward", "conv2d_max_pool_values", "max_pool2d_forward"])
    model = notebook_style_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.train_on_batch(np.zeros((2, 9, 9, 2), np.float32), np.eye(3, dtype=np.float32)[[0, 1]])
    assert calls == [("conv2d_relu_forward", (2, 9, 9, 2)), ("conv2d_relu_forward", (2, 5, 5, 5)),
                     ("max_pool2d_forward", (2, 3, 3, 4)), ("conv2d_relu_forward", (2, 1, 1, 4))]
