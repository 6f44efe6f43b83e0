"""float32 stays float32: a training step of a float32 model creates no float64 tensor, and
its gradients and optimizer slots are float32, on every kernel tier."""
import numpy as np
import pytest

import tinycnn
from tinycnn import tensor as tensor_module
from tinycnn.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from tinycnn.models import Sequential
from tinycnn.utils import set_random_seed, to_categorical


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adamax", "adagrad", "adadelta"])
def test_a_float32_training_step_creates_no_float64(optimizer, tier, monkeypatch):
    set_random_seed(0)
    model = Sequential([Input(shape=(8, 8, 3)), Conv2D(4, 3, padding="same", activation="relu"),
                        BatchNormalization(), MaxPooling2D(), Dropout(0.2), Flatten(),
                        Dense(5, activation="softmax")])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((6, 8, 8, 3))          # float64 on purpose
    y = to_categorical(np.arange(6) % 5, 5)
    model.train_on_batch(x, y)                                  # creates the optimizer slots
    dtypes = []
    original = tensor_module.Tensor.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        dtypes.append(self.data.dtype)

    monkeypatch.setattr(tensor_module.Tensor, "__init__", recording_init)
    model.train_on_batch(x, y)
    assert dtypes and set(dtypes) == {np.dtype(np.float32)}
    for w in model.trainable_weights:
        assert w.data.dtype == np.float32 and w.grad.dtype == np.float32, w.name
    slots = {k: v for k, v in model.optimizer.get_state().items() if k not in ("iterations", "learning_rate")}
    assert bool(slots) == (optimizer != "sgd")  # plain SGD keeps no slots
    assert all(v.dtype == np.float32 for v in slots.values())
