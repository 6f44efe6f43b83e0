"""Callbacks driven by hand against a small fake model (the interface ``fit`` provides)."""
from __future__ import annotations

import csv
import io
import math
import os
import re

import numpy as np
import pytest

from tinycnn import callbacks as cbs
from tinycnn.callbacks import progbar
from tinycnn.optimizers import SGD


class FakeModel:
    """What callbacks may use: stop_training, optimizer.learning_rate, get/set_weights,
    save/save_weights (each writes a small file and is recorded)."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = SGD(learning_rate)
        self.weights = [np.zeros(2), np.zeros(3)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self._write("model", path)

    def save_weights(self, path):
        self._write("weights", path)

    def _write(self, kind, path):
        with open(path, "w") as f:
            f.write(f"{kind} {self.weights[0][0]}")
        self.saved.append((kind, os.path.basename(path)))


def train(callbacks, epoch_logs, model=None, steps=2, batch_logs=None, verbose=0,
          on_epoch=None):
    """Drive the hooks as ``fit`` does: one entry of ``epoch_logs`` per epoch (stopping when
    a callback sets ``model.stop_training``); ``batch_logs(epoch, batch)`` gives each batch's
    logs; ``on_epoch(model, epoch)`` plays the training of that epoch. Returns the model."""
    model = model or FakeModel()
    callback_list = cbs.CallbackList(callbacks, model=model, epochs=len(epoch_logs),
                                     steps=steps, verbose=verbose)
    callback_list.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        callback_list.on_epoch_begin(epoch)
        if on_epoch is not None:
            on_epoch(model, epoch)
        for batch in range(steps):
            callback_list.on_train_batch_begin(batch)
            callback_list.on_train_batch_end(batch, batch_logs(epoch, batch) if batch_logs else {})
            if model.stop_training:
                break
        callback_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model


# ----- CallbackList and History ---------------------------------------------------------------
def test_history_records_each_epoch_and_is_set_on_the_model():
    history = cbs.History()
    model = train([history], [{"loss": 0.9, "val_loss": 1.0}, {"loss": 0.7, "val_loss": 0.8}])
    assert history.history == {"loss": [0.9, 0.7], "val_loss": [1.0, 0.8]}
    assert history.epoch == [0, 1]
    assert model.history is history


def test_callback_list_adds_defaults_and_shares_one_logs_dict():
    seen = []

    class AddsKey(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = epoch * 10

    class Reads(cbs.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    lst = cbs.CallbackList([AddsKey(), Reads()], add_history=True, add_progbar=True)
    assert isinstance(lst.history, cbs.History)
    assert [type(c).__name__ for c in lst.callbacks] == ["AddsKey", "Reads", "History", "ProgbarLogger"]
    lst.set_model(FakeModel())
    lst.on_epoch_begin(3)
    lst.on_epoch_end(3, {"loss": 1.0})
    assert seen == [{"loss": 1.0, "extra": 30}]
    assert lst.history.history["extra"] == [30]


def test_callback_list_gives_params_and_model_to_every_callback():
    a, b = cbs.Callback(), cbs.Callback()
    model = FakeModel()
    cbs.CallbackList([a, b], model=model, epochs=3, steps=7, verbose=2)
    assert a.model is model and b.params == {"epochs": 3, "steps": 7, "verbose": 2}


def test_callback_list_refuses_non_callbacks():
    with pytest.raises(TypeError, match="Callback objects, got function"):
        cbs.CallbackList([lambda: None])


def test_keras2_batch_hooks_are_called_for_training_batches():
    calls = []

    class Old(cbs.Callback):
        def on_batch_begin(self, batch, logs=None):
            calls.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            calls.append(("end", batch))

    train([Old()], [{"loss": 1.0}], steps=2)
    assert calls == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]


# ----- ModelCheckpoint -----------------------------------------------------------------------
def test_checkpoint_save_best_only_saves_on_improvement_with_keras_messages(tmp_path, capsys):
    path = str(tmp_path / "best.npz")
    checkpoint = cbs.ModelCheckpoint(path, monitor="val_loss", save_best_only=True, verbose=1)
    model = train([checkpoint], [{"val_loss": 0.5123456}, {"val_loss": 0.6},
                                 {"val_loss": 0.4}, {"val_loss": 0.4}])
    assert model.saved == [("model", "best.npz"), ("model", "best.npz")]
    assert checkpoint.best == 0.4
    assert capsys.readouterr().out == (
        f"\nEpoch 00001: val_loss improved from inf to 0.51235, saving model to {path}\n"
        "\nEpoch 00002: val_loss did not improve from 0.51235\n"
        f"\nEpoch 00003: val_loss improved from 0.51235 to 0.40000, saving model to {path}\n"
        "\nEpoch 00004: val_loss did not improve from 0.40000\n")


def test_checkpoint_filepath_template_uses_one_based_epochs_and_log_keys(tmp_path):
    template = str(tmp_path / "ckpt" / "weights.{epoch:02d}-{val_loss:.2f}.npz")
    checkpoint = cbs.ModelCheckpoint(template, save_weights_only=True)
    model = train([checkpoint], [{"val_loss": 0.51234}, {"val_loss": 0.6789}])
    assert model.saved == [("weights", "weights.01-0.51.npz"), ("weights", "weights.02-0.68.npz")]
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["weights.01-0.51.npz", "weights.02-0.68.npz"]
    assert checkpoint.file_path(9, None, {"val_loss": 1.0}).endswith("weights.10-1.00.npz")


def test_checkpoint_every_epoch_prints_the_plain_saving_message(tmp_path, capsys):
    path = str(tmp_path / "m.npz")
    train([cbs.ModelCheckpoint(path, verbose=1)], [{"val_loss": 1.0}])
    assert capsys.readouterr().out == f"\nEpoch 00001: saving model to {path}\n"


def test_checkpoint_auto_mode_maximises_accuracy(tmp_path):
    checkpoint = cbs.ModelCheckpoint(str(tmp_path / "a.npz"), monitor="val_accuracy",
                                     save_best_only=True)
    model = train([checkpoint], [{"val_accuracy": 0.5}, {"val_accuracy": 0.4},
                                 {"val_accuracy": 0.7}])
    assert len(model.saved) == 2 and checkpoint.best == 0.7
    explicit_min = cbs.ModelCheckpoint(str(tmp_path / "b.npz"), monitor="val_accuracy",
                                       save_best_only=True, mode="min")
    assert len(train([explicit_min], [{"val_accuracy": 0.5}, {"val_accuracy": 0.7}]).saved) == 1


def test_checkpoint_unknown_mode_warns_and_falls_back_to_auto(tmp_path):
    with pytest.warns(UserWarning, match="mode 'maximum' is unknown, fallback to auto"):
        checkpoint = cbs.ModelCheckpoint(str(tmp_path / "c.npz"), monitor="acc", mode="maximum")
    assert checkpoint.direction == "max"


def test_checkpoint_with_missing_monitor_warns_with_available_keys_and_saves(tmp_path):
    checkpoint = cbs.ModelCheckpoint(str(tmp_path / "m.npz"), save_best_only=True)
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available metrics "
                                         "are: loss,accuracy"):
        model = train([checkpoint], [{"loss": 0.3, "accuracy": 0.9}])
    assert model.saved == [("model", "m.npz")]  # Keras 3 saves when it cannot compare


def test_checkpoint_template_with_an_unknown_key_says_what_is_available(tmp_path):
    checkpoint = cbs.ModelCheckpoint(str(tmp_path / "w-{val_acc:.2f}.npz"))
    with pytest.raises(KeyError, match="no value for 'val_acc'.*'epoch', 'loss', 'val_accuracy'"):
        train([checkpoint], [{"loss": 1.0, "val_accuracy": 0.5}])


def test_checkpoint_refuses_a_directory_as_filepath(tmp_path):
    with pytest.raises(IsADirectoryError, match="existing directory"):
        train([cbs.ModelCheckpoint(str(tmp_path))], [{"val_loss": 1.0}])


def test_checkpoint_save_freq_counts_batches(tmp_path):
    checkpoint = cbs.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.npz"), save_freq=3)
    model = train([checkpoint], [{}, {}], steps=4)
    # batches 1..8 over two epochs of 4; saved after the 3rd and 6th
    assert [name for _, name in model.saved] == ["b1-3.npz", "b2-2.npz"]
    with pytest.raises(ValueError, match="save_freq must be 'epoch' or a positive number"):
        cbs.ModelCheckpoint("x.npz", save_freq="batch")


# ----- EarlyStopping ---------------------------------------------------------------------------
def losses_logs(values, key="val_loss"):
    return [{key: v} for v in values]


def test_early_stopping_waits_patience_epochs_without_improvement(capsys):
    stopper = cbs.EarlyStopping(patience=2, verbose=1)
    history = cbs.History()
    train([stopper, history], losses_logs([1.0, 0.9, 0.95, 0.92, 0.8, 0.7]))
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best == 0.9
    assert capsys.readouterr().out == "Epoch 00004: early stopping\n"


def test_early_stopping_with_zero_patience_stops_at_the_first_worse_epoch():
    history = cbs.History()
    train([cbs.EarlyStopping(), history], losses_logs([1.0, 0.9, 0.91, 0.5]))
    assert history.epoch == [0, 1, 2]


def test_early_stopping_min_delta_ignores_small_improvements():
    history = cbs.History()
    train([cbs.EarlyStopping(min_delta=0.05, patience=1), history],
          losses_logs([1.0, 0.97, 0.96, 0.5]))
    assert history.epoch == [0, 1]


def test_early_stopping_maximises_accuracy_in_auto_mode():
    history = cbs.History()
    train([cbs.EarlyStopping(monitor="val_accuracy", patience=1), history],
          losses_logs([0.5, 0.6, 0.7, 0.65, 0.9], key="val_accuracy"))
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_baseline_must_be_beaten_to_reset_patience():
    values = losses_logs([1.0, 0.9, 0.95, 0.8])
    with_baseline, without = cbs.History(), cbs.History()
    train([cbs.EarlyStopping(patience=2, baseline=0.5), with_baseline], values)
    train([cbs.EarlyStopping(patience=2), without], values)
    # improvements above the baseline do not reset the count, so the first worse epoch stops
    assert with_baseline.epoch == [0, 1, 2]
    assert without.epoch == [0, 1, 2, 3]


def test_early_stopping_restores_the_best_weights(capsys):
    def play_epoch(model, epoch):
        model.weights = [np.full(2, float(epoch)), np.full(3, float(epoch))]

    stopper = cbs.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model = train([stopper], losses_logs([1.0, 0.7, 0.8, 0.9, 0.1]), on_epoch=play_epoch)
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])  # epoch index 1 was best
    assert capsys.readouterr().out == ("Epoch 00004: early stopping\n"
                                       "Restoring model weights from the end of the best epoch: 2.\n")


def test_early_stopping_never_counts_a_nan_as_an_improvement():
    stopper = cbs.EarlyStopping(patience=1)
    history = cbs.History()
    train([stopper, history], losses_logs([float("nan"), float("nan"), 1.0]))
    assert history.epoch == [0, 1] and stopper.best == math.inf


def test_early_stopping_with_missing_monitor_warns_and_keeps_training():
    history = cbs.History()
    with pytest.warns(UserWarning, match="Early stopping is conditioned on metric `val_loss`"
                                         ".*Available metrics are: loss"):
        model = train([cbs.EarlyStopping(), history], [{"loss": 1.0}, {"loss": 2.0}])
    assert history.epoch == [0, 1] and not model.stop_training


# ----- learning-rate callbacks ----------------------------------------------------------------
def test_reduce_lr_on_plateau_reduces_after_patience_then_cools_down(capsys):
    reducer = cbs.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.02, verbose=1)
    history = cbs.History()
    model = train([reducer, history], losses_logs([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
                  model=FakeModel(learning_rate=0.1))
    # Keras's order: epochs 1, 2 without improvement -> reduce at epoch index 2. Epoch 3 ends
    # the cooldown and, no longer cooling down, already counts as a wait; epoch 4 reduces
    # again; epoch 6 would go to 0.0125 and is clamped at min_lr. The logged rate is the one
    # the epoch trained with.
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    assert capsys.readouterr().out == (
        "\nEpoch 00003: ReduceLROnPlateau reducing learning rate to 0.05.\n"
        "\nEpoch 00005: ReduceLROnPlateau reducing learning rate to 0.025.\n"
        "\nEpoch 00007: ReduceLROnPlateau reducing learning rate to 0.02.\n")


def test_reduce_lr_on_plateau_respects_min_lr_and_min_delta():
    model = FakeModel(learning_rate=0.1)
    train([cbs.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05, min_delta=0.01)],
          losses_logs([1.0, 0.995, 0.99, 0.985]), model=model)
    assert model.optimizer.learning_rate == 0.05  # improvements of 0.005 do not count
    with pytest.raises(ValueError, match="factor >= 1.0"):
        cbs.ReduceLROnPlateau(factor=2)


def test_learning_rate_scheduler_sets_the_rate_before_each_epoch(capsys):
    seen = []
    spy = cbs.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(
        model.optimizer.learning_rate))
    model = FakeModel(learning_rate=0.1)
    history = cbs.History()
    train([cbs.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1), spy, history],
          [{}, {}, {}], model=model)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert "\nEpoch 00002: LearningRateScheduler setting learning rate to 0.05.\n" in capsys.readouterr().out


def test_learning_rate_scheduler_passes_the_current_rate_to_two_argument_schedules():
    def halve_after_first(epoch, lr):
        return lr if epoch == 0 else lr * 0.5

    model = train([cbs.LearningRateScheduler(halve_after_first)], [{}, {}, {}],
                  model=FakeModel(learning_rate=0.8))
    assert model.optimizer.learning_rate == pytest.approx(0.2)


def test_learning_rate_scheduler_refuses_a_non_number():
    with pytest.raises(ValueError, match="must return a number, got 'fast' for epoch 0"):
        train([cbs.LearningRateScheduler(lambda epoch: "fast")], [{}])


# ----- CSVLogger, TerminateOnNaN, LambdaCallback -------------------------------------------------
def read_rows(path, delimiter=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=delimiter))


def test_csv_logger_writes_a_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    train([cbs.CSVLogger(path)], [{"loss": 0.5, "val_loss": 0.6, "accuracy": 0.75},
                                  {"loss": 0.25, "val_loss": 0.4, "accuracy": 0.875}])
    assert read_rows(path) == [["epoch", "accuracy", "loss", "val_loss"],
                               ["0", "0.75", "0.5", "0.6"], ["1", "0.875", "0.25", "0.4"]]


def test_csv_logger_appends_without_repeating_the_header(tmp_path):
    path = tmp_path / "log.csv"
    train([cbs.CSVLogger(path, separator=";")], [{"loss": 1.0, "val_loss": 2.0}])
    train([cbs.CSVLogger(path, separator=";", append=True)], [{"loss": 0.5, "val_loss": 1.5}])
    assert read_rows(path, ";") == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"],
                                    ["0", "0.5", "1.5"]]


def test_csv_logger_adds_val_columns_when_the_first_epoch_has_none(tmp_path):
    path = tmp_path / "log.csv"
    train([cbs.CSVLogger(path)], [{"loss": 1.0}])
    assert read_rows(path) == [["epoch", "loss", "val_loss"], ["0", "1.0", "NA"]]


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_terminate_on_nan_stops_at_the_bad_batch(bad, capsys):
    batches = []

    def batch_logs(epoch, batch):
        batches.append(batch)
        return {"loss": bad if batch == 2 else 0.5}

    model = train([cbs.TerminateOnNaN()], [{}, {}], steps=5, batch_logs=batch_logs)
    assert model.stop_training and batches == [0, 1, 2]
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_terminate_on_nan_lets_finite_losses_through():
    model = train([cbs.TerminateOnNaN()], [{}], steps=3, batch_logs=lambda e, b: {"loss": 1e30})
    assert not model.stop_training


def test_lambda_callback_calls_the_given_functions():
    calls = []
    callback = cbs.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch_begin {epoch}"),
        on_batch_begin=lambda batch, logs: calls.append(f"batch_begin {batch}"),
        on_batch_end=lambda batch, logs: calls.append(f"batch_end {batch} {logs['loss']}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch} {logs['loss']}"),
        on_train_end=lambda logs: calls.append("train_end"))
    train([callback], [{"loss": 0.25}], steps=1, batch_logs=lambda e, b: {"loss": 0.5})
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0 0.5",
                     "epoch_end 0 0.25", "train_end"]
    with pytest.raises(TypeError, match="on_epoch_end must be a function"):
        cbs.LambdaCallback(on_epoch_end=3)


# ----- progress output ------------------------------------------------------------------------
def running_logs(epoch, batch):
    return {"loss": 0.5 + epoch + batch / 10, "accuracy": 0.8125}


BAR_LINE = re.compile(r"^5/5 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: (\d\.\d{4}) - "
                      r"accuracy: 0\.8125 - val_loss: 0\.2500$")


def test_progress_bar_without_a_terminal_prints_one_line_per_epoch(capsys):
    train([cbs.ProgbarLogger()], [{"loss": 0.75, "accuracy": 0.8125, "val_loss": 0.25}] * 3,
          steps=5, batch_logs=running_logs, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert len(lines) == 6
    for line in lines[1::2]:
        match = BAR_LINE.match(line)
        assert match, line
        assert match.group(2) == "0.7500"  # the epoch's logs, as given


def test_progress_bar_verbose_2_prints_one_summary_line_per_epoch(capsys):
    train([cbs.ProgbarLogger()], [{"loss": 0.75, "accuracy": 0.5, "val_loss": 1e-4}] * 2,
          steps=60, batch_logs=running_logs, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"60/60 - \d+s - loss: 0\.7500 - accuracy: 0\.5000 - "
                        r"val_loss: 1\.0000e-04 - \d+s/epoch - \d+(us|ms|s)/step", lines[1])


def test_progress_bar_for_a_single_epoch_has_no_epoch_header(capsys):
    train([cbs.ProgbarLogger()], [{"loss": 0.75}], steps=3, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch" not in out and out.startswith("3/3 [") and out.count("\n") == 1


def test_progress_bar_is_silent_with_verbose_0(capsys):
    train([cbs.ProgbarLogger()], [{"loss": 0.75}] * 2, steps=3, verbose=0)
    assert capsys.readouterr().out == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_redraws_the_line_with_eta(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    bar = cbs.Progbar(60, interval=0.0)
    bar.update(12, {"loss": 0.5012, "accuracy": 0.8125})
    bar.update(60, {"loss": 0.25, "accuracy": 0.875})
    first, final = screen.getvalue().split("\r")[1:]
    assert re.fullmatch(r"12/60 \[=====>\.{24}\] - ETA: \d+s - loss: 0\.5012 - accuracy: 0\.8125",
                        first)
    assert re.fullmatch(r"60/60 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: 0\.2500 - "
                        r"accuracy: 0\.8750\s*\n", final)


def test_progress_bar_durations_and_unknown_targets(capsys):
    assert progbar._format_duration(3725) == "1:02:05" and progbar._format_duration(75) == "1:15"
    assert [progbar._format_value(v) for v in (0.5, np.float32(2e-4), "n/a")] == \
        ["0.5000", "2.0000e-04", "n/a"]
    bar = cbs.Progbar(None)
    bar.update(7, {"loss": 2.0}, finalize=True)
    assert re.fullmatch(r"      7/Unknown - \d+s \d+(us|ms|s)/step - loss: 2\.0000\n",
                        capsys.readouterr().out)


def test_evaluate_shows_a_bar_but_validation_inside_fit_does_not(capsys):
    logger = cbs.ProgbarLogger()
    lst = cbs.CallbackList([logger], model=FakeModel(), epochs=1, steps=2, verbose=1)
    lst.on_test_begin()
    lst.on_test_batch_end(0, {"loss": 0.3})
    lst.on_test_batch_end(1, {"loss": 0.2})
    lst.on_test_end({"loss": 0.2})
    assert re.fullmatch(r"2/2 \[={30}\] - \d+s \S+/step - loss: 0\.2000\n", capsys.readouterr().out)
    lst.on_train_begin()
    lst.on_test_begin()
    lst.on_test_batch_end(0, {"loss": 0.3})
    lst.on_test_end({"loss": 0.3})
    assert capsys.readouterr().out == ""


def test_monitor_values_may_be_numpy_scalars(tmp_path, capsys):
    checkpoint = cbs.ModelCheckpoint(str(tmp_path / "m.npz"), save_best_only=True, verbose=1)
    train([checkpoint], [{"val_loss": np.float32(0.25)}])
    assert "improved from inf to 0.25000" in capsys.readouterr().out
    assert math.isclose(checkpoint.best, 0.25)


def test_importing_ipykernel_does_not_make_plain_output_live():
    """Only a running Jupyter kernel redraws lines; a process that merely imported ipykernel
    (as the notebook tests do) still prints one line per epoch to a non-terminal."""
    import io

    pytest.importorskip("ipykernel")
    import ipykernel  # noqa: F401

    from tinycnn.callbacks.progbar import _live_display
    assert not _live_display(io.StringIO())
