"""Bad input, as a careless user gives it (issue 23): every case is a clear error naming the
argument or file and the fix, or a warning, never something silently wrong. Grouped by
class of mistake; each test asserts the error type and what the message names."""
from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest

from tinycnn import cli, optimizers
from tinycnn.datasets import _files, mnist
from tinycnn.layers import Conv2D, Dense, Input
from tinycnn.models import Sequential, load_model
from tinycnn.utils import set_random_seed

h5py = pytest.importorskip("h5py", reason="the HDF5 cases need h5py (pip install 'tinycnn[keras]')")


def small_model(compile=True):
    set_random_seed(0)
    model = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")])
    if compile:
        model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((10, 4), dtype=np.float32)
Y = np.eye(3, dtype=np.float32)[np.arange(10) % 3]


# ----- training arguments: counts, sizes, empty data ---------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda m: m.fit(X[:0], Y[:0], verbose=0), "fit: x has 0 samples"),
    (lambda m: m.fit(X[:1], Y[:1], validation_split=0.5, verbose=0), "validation_split=0.5 of 1 samples leaves 0 for training"),
    (lambda m: m.fit(X, Y, epochs=2.5, verbose=0), "fit: epochs must be an integer of at least 0, got 2.5"),
    (lambda m: m.fit(X, Y, batch_size=0, verbose=0), "fit: batch_size must be a positive integer, got 0"),
    (lambda m: m.fit(X, Y, steps_per_epoch=0, verbose=0), "fit: steps_per_epoch must be a positive integer, got 0"),
    (lambda m: m.fit(iter([(X, Y)]), steps_per_epoch=0, verbose=0), "steps_per_epoch must be a positive integer"),
    (lambda m: m.fit(iter([(X, Y)]), steps_per_epoch=1, validation_split=0.2, verbose=0), "validation_split is only supported for arrays"),
    (lambda m: m.train_on_batch(X[:0], Y[:0]), "train_on_batch: x has 0 samples"),
    (lambda m: m.predict(X, batch_size=-1, verbose=0), "predict: batch_size must be a positive integer, got -1"),
    (lambda m: m.predict(X, batch_size=0, verbose=0), "predict: batch_size must be a positive integer, got 0"),
    (lambda m: m.evaluate(X[:0], Y[:0], verbose=0), "evaluate: x has 0 samples"),
    (lambda m: m.evaluate(X, Y, batch_size=-1, verbose=0), "evaluate: batch_size must be a positive integer, got -1"),
    (lambda m: m.fit([[1, 2, 3, 4], [1, 2]], Y[:2], verbose=0), "fit: the data is a ragged list"),
])
def test_training_arguments_are_checked_by_name(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(small_model())


def test_steps_per_epoch_on_arrays_is_honoured_across_passes():
    model = small_model()
    seen = []
    model.fit(X, Y, batch_size=4, epochs=3, steps_per_epoch=2, verbose=0,
              callbacks=[__import__("tinycnn").callbacks.LambdaCallback(
                  on_train_batch_end=lambda step, logs: seen.append(step))])
    assert seen == [0, 1] * 3          # 2 batches per epoch, though a pass of 10 samples has 3


# ----- layer arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: Input(shape=(6, 6, 0)), "Input: every axis of shape must be at least 1, got (6, 6, 0)"),
    (lambda: Conv2D(2, 3, input_shape=(6, 6, 0)), "Conv2D: every axis of input_shape must be at least 1"),
    (lambda: Dense(2, kernel_initializer="bogus"), "Dense: kernel_initializer: unknown initializer 'bogus'"),
    (lambda: Conv2D(2, 3, bias_regularizer="bogus"), "Conv2D: bias_regularizer: unknown regularizer 'bogus'"),
    (lambda: Dense(2, kernel_constraint="bogus"), "Dense: kernel_constraint: unknown constraint 'bogus'"),
    (lambda: Conv2D(2.0, 3), "Conv2D: filters must be a positive integer, got 2.0"),
    (lambda: Dense(True), "Dense: units must be a positive integer, got True"),
])
def test_layer_arguments_are_refused_at_construction(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_numpy_integers_are_valid_layer_sizes():
    assert Conv2D(np.int64(2), np.int64(3)).filters == 2 and Dense(np.int32(4)).units == 4


# ----- numerics: divergence and overflow ---------------------------------------------------------------
def test_an_exploding_update_is_undone_and_training_stops(capsys):
    model = small_model(compile=False)
    model.compile(optimizer=optimizers.SGD(learning_rate=1e30), loss="categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # NumPy's overflow warnings on the way
        model.fit(X, Y, epochs=5, batch_size=2, verbose=0)
    assert "training stopped" in capsys.readouterr().out
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(model.predict(X, verbose=0)).all()


def test_a_diverging_loss_is_reported_once():
    model = small_model(compile=False)
    model.compile(optimizer=optimizers.SGD(learning_rate=1e6), loss="categorical_crossentropy")
    with pytest.warns(RuntimeWarning, match="training is diverging; lower the learning rate") as record:
        model.fit(X, Y, epochs=4, batch_size=2, verbose=0)
    assert sum("diverging" in str(w.message) for w in record) == 1


# ----- damaged files: clear errors naming the file, all or nothing ------------------------------------
def flipped(path, out):
    raw = bytearray(open(path, "rb").read())
    raw[len(raw) // 2] ^= 0xFF
    open(out, "wb").write(bytes(raw))
    return out


def test_damaged_files_are_named_and_nothing_is_half_loaded(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.npz")
    model.save_weights(tmp_path / "w.h5")
    raw = open(tmp_path / "w.h5", "rb").read()
    (tmp_path / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"junk" * 10)
    flipped(tmp_path / "m.npz", tmp_path / "flipped.npz")
    for name, call in [("flipped.npz", load_model), ("flipped.npz", small_model().load_weights),
                       ("truncated.h5", small_model().load_weights), ("truncated.h5", load_model),
                       ("junk.h5", small_model().load_weights)]:
        with pytest.raises(ValueError, match=rf"{name}.*(damaged|truncated)"):
            call(tmp_path / name)
    arrays = dict(np.load(tmp_path / "m.npz"))
    del arrays["weights/1"]
    np.savez(tmp_path / "missing.npz", **arrays)
    target = small_model()
    target.set_weights([w + 1 for w in target.get_weights()])
    before = target.get_weights()
    with pytest.raises(ValueError, match=r"lacks the arrays \['weights/1'\].*nothing was loaded"):
        target.load_weights(tmp_path / "missing.npz")
    assert all((a == b).all() for a, b in zip(before, target.get_weights()))
    arrays = dict(np.load(tmp_path / "m.npz"))
    arrays["__tinycnn__"] = np.frombuffer(b"\xff\xfe{}", np.uint8)
    np.savez(tmp_path / "latin.npz", **arrays)
    with pytest.raises(ValueError, match=r"latin\.npz.*damaged.*UnicodeDecodeError"):
        load_model(tmp_path / "latin.npz")


def test_a_keras2_file_listing_an_absent_weight_is_refused(tmp_path):
    with h5py.File(tmp_path / "k2.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense", b"dense_1"]
        group = handle.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        group.create_dataset("dense/kernel:0", data=np.zeros((4, 8)))
        handle.create_group("dense_1")
    with pytest.raises(ValueError, match=r"k2\.h5.*layer 'dense' lists weights \['dense/bias:0'\]"):
        small_model().load_weights(tmp_path / "k2.h5")


# ----- saving: the umask, links, interrupted and concurrent writers ----------------------------------
def test_saved_files_follow_the_umask_and_keep_a_link(tmp_path):
    old = os.umask(0o027)
    try:
        model = small_model()
        for name in ("m.npz", "w.npz", "m.h5"):
            (model.save_weights if name == "w.npz" else model.save)(tmp_path / name)
            assert os.stat(tmp_path / name).st_mode & 0o777 == 0o640, name
    finally:
        os.umask(old)
    os.symlink(tmp_path / "m.npz", tmp_path / "link.npz")
    model.save(tmp_path / "link.npz")
    assert os.path.islink(tmp_path / "link.npz")


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    model = small_model()
    model.save(tmp_path / "m.h5")
    good = (tmp_path / "m.h5").read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(h5py.Group, "create_dataset", full_disk)
    with pytest.raises(OSError, match="No space left"):
        model.save(tmp_path / "m.h5")
    assert (tmp_path / "m.h5").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def test_stale_temporaries_of_a_killed_save_are_removed(tmp_path):
    stale = tmp_path / ".tmp-m.npz-deadbeef"
    stale.write_bytes(b"x" * 1000)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    small_model().save(tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_threads_saving_one_h5_path_all_succeed(tmp_path):
    model, errors = small_model(), []

    def save():
        try:
            model.save(tmp_path / "m.h5")
        except Exception as err:  # noqa: BLE001
            errors.append(err)
    threads = [threading.Thread(target=save) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and load_model(tmp_path / "m.h5").count_params() == model.count_params()
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


# ----- the dataset cache ---------------------------------------------------------------------------------
def test_a_cached_archive_with_wrong_shapes_or_damage_is_not_used(tmp_path):
    path = _files.cached_arrays_path("mnist", tmp_path)
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=np.zeros((3, 5, 5), np.uint8), y_train=np.zeros(3, np.uint8),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))
    with pytest.warns(UserWarning, match=r"mnist\.npz holds x \(3, 5, 5\).*parsing the dataset again"):
        assert _files.load_cached("mnist", (28, 28), tmp_path) is None
    flipped(path, path)
    with pytest.warns(UserWarning, match=r"mnist\.npz cannot be read"):
        assert _files.load_cached("mnist", (28, 28), tmp_path) is None


def test_a_cached_download_failing_its_checksum_stays_until_replaced(tmp_path, monkeypatch):
    target = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not the right bytes")
    monkeypatch.delenv("TINYCNN_DATA_DIR", raising=False)
    monkeypatch.setattr(_files, "download", lambda url, dest: (_ for _ in ()).throw(OSError("offline")))
    with pytest.warns(UserWarning, match="fails its MD5 check"), pytest.raises(_files.DatasetNotFoundError):
        _files.fetch("mnist", target.name, "0" * 32, ["http://example.invalid/"], tmp_path)
    assert target.read_bytes() == b"not the right bytes"
    assert mnist is not None


# ----- the command line: one line on stderr, status 2 for arguments, 1 for files -------------------------
@pytest.mark.parametrize("argv", [["train", "--batch-size", "0"], ["train", "--epochs", "0"],
                                  ["train", "--lr", "-1"], ["profile", "seed004_mnist_mlp", "--batch-size", "0"],
                                  ["train", "--validation-split", "1.5"]])
def test_cli_refuses_bad_numbers_as_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and argv[-2] in err


def test_cli_lr_zero_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--model", "seed004_mnist_cnn", "--epochs", "1", "--lr", "0", "--verbose", "0"]) == 0
    assert load_model(tmp_path / "runs/latest/model.npz").optimizer.learning_rate == 0.0


@pytest.mark.parametrize("content, message", [
    ("def build_model():\n    Sequential()\n", "build_model() returned NoneType, not a model"),
    ("def build_model(:\n", "SyntaxError"),
    ("x = 1\n", "must define a function build_model()"),
])
def test_cli_model_files_that_fail_are_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "net.py"
    path.write_text("from tinycnn.models import Sequential\n" + content)
    assert cli.main(["summary", str(path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err


def test_cli_damaged_model_file_and_unreadable_cache(tmp_path, capsys, monkeypatch):
    small_model().save(tmp_path / "m.npz")
    flipped(tmp_path / "m.npz", tmp_path / "bad.npz")
    assert cli.main(["evaluate", str(tmp_path / "bad.npz")]) == 1
    assert "bad.npz" in capsys.readouterr().err
    cache = tmp_path / "home" / "datasets"
    cache.mkdir(parents=True)
    monkeypatch.setenv("TINYCNN_HOME", str(tmp_path / "home"))
    real_access = os.access   # as root every folder reads, so the refusal is simulated for this one
    monkeypatch.setattr(cli.os, "access", lambda path, mode: False if str(path) == str(cache) else real_access(path, mode))
    assert cli.main(["datasets"]) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_data_with_an_empty_axis_is_refused_before_any_kernel_runs():
    with pytest.raises(ValueError, match=r"predict: model \"sequential\w*\" got data of shape \(1, 6, 6, 0\)"):
        Sequential([Conv2D(2, 3)]).predict(np.zeros((1, 6, 6, 0), np.float32), verbose=0)
    with pytest.raises(ValueError, match=r'layer "conv2d\w*" has an empty axis: shape \(None, 6, 6, 0\)'):
        Conv2D(2, 3)(np.zeros((1, 6, 6, 0), np.float32))


def test_initializers_draw_float32_weights_without_a_float64_copy(monkeypatch):
    """The same values as one float64 draw cast to float32, drawn 65,536 at a time."""
    from tinycnn import initializers
    shape = (300, 500)                                    # 150,000 values: three chunks
    set_random_seed(7)
    got = initializers.get("glorot_uniform")(shape, "float32")
    set_random_seed(7)
    limit = np.sqrt(6.0 / 800)
    expected = np.random.default_rng(7).uniform(-limit, limit, size=shape).astype(np.float32)
    sizes = []
    real = initializers.in_chunks
    monkeypatch.setattr(initializers, "in_chunks", lambda draw, s, d: real(lambda n: sizes.append(n) or draw(n), s, d))
    initializers.get("glorot_uniform")(shape, "float32")
    assert got.dtype == np.float32 and max(sizes) == 65536
    np.testing.assert_array_equal(got, expected)


def test_a_truncated_cifar_batch_names_the_file(tmp_path):
    import pickle

    from tinycnn.datasets import cifar10
    raw = pickle.dumps({"data": [[0] * 3072] * 2, "labels": [0, 1]}, protocol=2)
    (tmp_path / "data_batch_1").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"data_batch_1: a truncated or damaged CIFAR-10 batch"):
        cifar10.load_batch(tmp_path / "data_batch_1")


def test_a_keras_model_file_with_damaged_config_text_is_named(tmp_path):
    small_model().save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as handle:
        handle.attrs["model_config"] = np.void(b"\xff\xfe{not json")
    with pytest.raises(ValueError, match=r"m\.h5.*damaged"):
        load_model(tmp_path / "m.h5")
