"""The training loop's callback hooks fire where Keras fires them: fit's train hooks and, for
its validation, the test hooks of the same callbacks; evaluate's test hooks; predict's
predict hooks (each with the batch index and the logs Keras gives)."""
from __future__ import annotations

import numpy as np

from tinycnn import callbacks
from tinycnn.layers import Dense, Input
from tinycnn.models import Sequential


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attribute = super().__getattribute__(name)
        if name.startswith("on_") and callable(attribute):
            def record(*args):
                self.calls.append((name, *args[:-1]))
                return attribute(*args)
            return record
        return attribute


def small_model():
    model = Sequential([Input(shape=(3,)), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((10, 3), dtype=np.float32)
Y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]


def hooks(recorder, prefix):
    return [call for call in recorder.calls if call[0].startswith(prefix)]


def test_evaluate_fires_the_test_hooks_once_per_batch():
    recorder = Recorder()
    logs = small_model().evaluate(X, Y, batch_size=4, verbose=0, callbacks=[recorder], return_dict=True)
    assert hooks(recorder, "on_test") == [
        ("on_test_begin",), ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_batch_begin", 1),
        ("on_test_batch_end", 1), ("on_test_batch_begin", 2), ("on_test_batch_end", 2), ("on_test_end",)]
    assert set(logs) == {"loss", "accuracy"}


def test_predict_fires_the_predict_hooks_with_each_batchs_outputs():
    seen = []

    class Outputs(callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].shape))

    recorder = Recorder()
    out = small_model().predict(X, batch_size=4, callbacks=[recorder, Outputs()])
    assert out.shape == (10, 2)
    assert [c[0] for c in hooks(recorder, "on_predict")] == [
        "on_predict_begin"] + ["on_predict_batch_begin", "on_predict_batch_end"] * 3 + ["on_predict_end"]
    assert seen == [(0, (4, 2)), (1, (4, 2)), (2, (2, 2))]


def test_fit_runs_the_test_hooks_of_its_callbacks_for_validation():
    recorder = Recorder()
    small_model().fit(X, Y, batch_size=5, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[recorder])
    names = [c[0] for c in recorder.calls if not c[0].startswith("on_batch")]
    epoch = (["on_epoch_begin"] + ["on_train_batch_begin", "on_train_batch_end"] * 2
             + ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 2 + ["on_test_end", "on_epoch_end"])
    assert names == ["on_train_begin"] + epoch * 2 + ["on_train_end"]


def test_evaluate_with_verbose_shows_a_progress_bar(capsys):
    small_model().evaluate(X, Y, batch_size=4, verbose=1)
    out = capsys.readouterr().out
    assert "3/3" in out and "loss:" in out and "accuracy:" in out
