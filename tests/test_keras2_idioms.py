"""Keras 2 idioms the seed notebooks and their readers use, each working as Keras did
(with Keras's one-line deprecation warning where Keras itself warned)."""
from __future__ import annotations

import re

import numpy as np
import pytest

import tinycnn
from tinycnn import callbacks
from tinycnn.layers import Dense, Input
from tinycnn.models import Sequential
from tinycnn.preprocessing.image import ImageDataGenerator

X = np.random.default_rng(0).random((12, 4, 4, 1), dtype=np.float32)
LABELS = np.arange(12) % 3
Y = np.eye(3, dtype=np.float32)[LABELS]


def small_model(activation="softmax", units=3):
    from tinycnn.layers import Flatten
    model = Sequential([Input(shape=(4, 4, 1)), Flatten(), Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss="categorical_crossentropy" if units > 1 else "binary_crossentropy",
                  metrics=["accuracy"])
    return model


# ----- imports -------------------------------------------------------------------------------------
def test_keras2_import_paths():
    from tinycnn.layers.convolutional import Conv2D, MaxPooling2D  # Keras 2 re-exported pooling here
    from tinycnn.layers.pooling import MaxPooling2D as pooling_max
    from tinycnn.utils import np_utils
    from tinycnn.utils.np_utils import to_categorical
    assert MaxPooling2D is pooling_max and Conv2D is tinycnn.layers.Conv2D
    assert np_utils.to_categorical is to_categorical is tinycnn.utils.to_categorical
    np.testing.assert_array_equal(to_categorical([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_the_backend_module():
    from tinycnn import backend as K
    assert K.image_data_format() == "channels_last"
    assert K.epsilon() == 1e-7 and K.floatx() == "float32"
    model = small_model()
    assert K.count_params(model.layers[-1].kernel) == 16 * 3
    first = Dense(2).name
    K.clear_session()
    assert Dense(2).name == "dense" and first.startswith("dense")


# ----- Model methods of Keras 2 --------------------------------------------------------------------
def test_fit_evaluate_predict_generator_warn_and_work():
    model = small_model()
    flow = ImageDataGenerator().flow(X, Y, batch_size=4, shuffle=False)
    with pytest.warns(UserWarning, match=r"`Model.fit_generator` is deprecated"):
        history = model.fit_generator(flow, steps_per_epoch=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.warns(UserWarning, match=r"`Model.evaluate_generator` is deprecated"):
        loss, accuracy = model.evaluate_generator(ImageDataGenerator().flow(X, Y, batch_size=4, shuffle=False),
                                                  steps=3, verbose=0)
    np.testing.assert_allclose([loss, accuracy], model.evaluate(X, Y, batch_size=4, verbose=0), rtol=1e-6)
    with pytest.warns(UserWarning, match=r"`Model.predict_generator` is deprecated"):
        out = model.predict_generator(ImageDataGenerator().flow(X, batch_size=4, shuffle=False), steps=3)
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-6)


def test_evaluate_and_predict_take_a_generator_too():
    model = small_model()
    flow = ImageDataGenerator().flow(X, Y, batch_size=5, shuffle=False)
    np.testing.assert_allclose(model.evaluate(flow, verbose=0), model.evaluate(X, Y, verbose=0), rtol=1e-6)
    out = model.predict(ImageDataGenerator().flow(X, batch_size=5, shuffle=False))
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-6)


def test_predict_classes_as_keras2():
    model = small_model()
    with pytest.warns(UserWarning, match=r"`model.predict_classes\(\)` is deprecated"):
        classes = model.predict_classes(X, verbose=0)
    np.testing.assert_array_equal(classes, model.predict(X).argmax(axis=-1))
    binary = small_model(activation="sigmoid", units=1)
    with pytest.warns(UserWarning):
        np.testing.assert_array_equal(binary.predict_classes(X, verbose=0),
                                      (binary.predict(X) > 0.5).astype("int32"))


def test_metrics_names():
    model = small_model()
    assert model.metrics_names == ["loss", "accuracy"]


def test_model_checkpoint_period_saves_every_nth_epoch(tmp_path):
    model = small_model()
    with pytest.warns(UserWarning, match="`period` argument is deprecated"):
        checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "w{epoch:02d}.weights.npz"), period=2,
                                               save_weights_only=True)
    model.fit(X, Y, epochs=5, verbose=0, callbacks=[checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w02.weights.npz", "w04.weights.npz"]


# ----- validation data ---------------------------------------------------------------------------
def test_validation_data_may_be_a_generator():
    model = small_model()
    validation = ImageDataGenerator().flow(X, Y, batch_size=6, shuffle=False)
    history = model.fit(X, Y, epochs=2, verbose=0, validation_data=validation, validation_steps=2)
    assert len(history.history["val_loss"]) == 2
    np.testing.assert_allclose(history.history["val_loss"][-1], model.evaluate(X, Y, verbose=0)[0], rtol=1e-6)


def test_validation_split_with_a_generator_is_refused():
    model = small_model()
    with pytest.raises(ValueError, match="validation_split is only supported for arrays"):
        model.fit(ImageDataGenerator().flow(X, Y, batch_size=4), validation_split=0.2, verbose=0)


# ----- images --------------------------------------------------------------------------------------
def test_load_img_img_to_array_array_to_img(tmp_path):
    from tinycnn.preprocessing.image import array_to_img, img_to_array, load_img
    pixels = (np.arange(2 * 3 * 3).reshape(2, 3, 3) * 10).astype(np.float32)
    image = array_to_img(pixels, scale=False)
    assert image.size == (3, 2) and image.mode == "RGB"
    path = tmp_path / "x.png"
    image.save(path)
    loaded = load_img(path)
    np.testing.assert_array_equal(img_to_array(loaded), pixels)
    assert img_to_array(load_img(path, color_mode="grayscale")).shape == (2, 3, 1)
    assert img_to_array(load_img(path, target_size=(4, 5))).shape == (4, 5, 3)
    scaled = img_to_array(array_to_img(pixels))       # scale=True maps the range to 0..255
    assert scaled.min() == 0 and scaled.max() == 255


# ----- printed output --------------------------------------------------------------------------
def test_verbose_2_epoch_lines_end_with_the_timings(capsys):
    small_model().fit(X, Y, batch_size=4, epochs=1, verbose=2)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"3/3 - \d+s - loss: \S+ - accuracy: \S+ - \d+s/epoch - \d+(ms|us|s)/step", line), line


def test_model_checkpoint_messages_as_the_seeds_keras(tmp_path, capsys):
    model = small_model()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best.weights.npz"), save_best_only=True,
                                           save_weights_only=True, verbose=1, monitor="loss")
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[checkpoint])
    out = capsys.readouterr().out
    assert re.search(r"Epoch 00001: loss improved from inf to \d\.\d{5}, saving model to .*best.weights.npz", out), out


def test_summary_has_no_blank_lines_between_rows():
    lines = []
    small_model().summary(print_fn=lines.append)
    assert "" not in lines
