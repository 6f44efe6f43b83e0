"""The CIFAR-10 speedrun's pieces (whitening, augmentation, test-time augmentation) against
what they promise, and its quick mode end to end through the CLI, twice with one seed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tinycnn import cli, speedrun
from tinycnn import functional as F


def test_whitening_filters_decorrelate_the_patches_to_unit_variance():
    """On the images it was made from, the first half of the whitening conv's outputs (the
    eigen-filters) have second moments diag(l / (l + eps)), i.e. the identity up to eps."""
    images = np.random.default_rng(0).standard_normal((40, 8, 8, 3)).astype(np.float32)
    images[..., 1] += 0.8 * images[..., 0]                       # correlated channels
    images[:, :, 1:, :] += 0.5 * images[:, :, :-1, :]            # correlated neighbours
    kernel = speedrun.whitening_kernel(images, eps=1e-9)
    assert kernel.shape == (2, 2, 3, 24)
    np.testing.assert_array_equal(kernel[..., 12:], -kernel[..., :12])
    out = F.conv2d(images.astype(np.float64), kernel.astype(np.float64)).data[..., :12].reshape(-1, 12)
    np.testing.assert_allclose(out.T @ out / len(out), np.eye(12), atol=2e-4)


def test_epoch_images_flip_every_other_epoch_and_cut_each_image_at_one_offset():
    recipe = speedrun.Recipe(translate=2)
    base = np.random.default_rng(1).standard_normal((30, 6, 5, 2)).astype(np.float32)
    padded = np.pad(base, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    for epoch in (0, 1):
        out = speedrun.epoch_images(base, padded, epoch, np.random.default_rng(epoch), recipe)
        source = padded[:, :, ::-1] if epoch == 1 else padded
        for i in range(len(base)):
            views = [source[i, dy:dy + 6, dx:dx + 5] for dy in range(5) for dx in range(5)]
            assert sum(np.array_equal(out[i], v) for v in views) >= 1
    no_shift = speedrun.Recipe(tricks_off=["translate"])
    np.testing.assert_array_equal(speedrun.epoch_images(base, None, 1, np.random.default_rng(0), no_shift),
                                  base[:, :, ::-1])
    with pytest.raises(ValueError, match="unknown trick 'cutout'"):
        speedrun.Recipe(tricks_off=["cutout"])


def test_tta_averages_the_mirrored_and_shifted_views():
    recipe = speedrun.Recipe(widths=(4, 4, 4))
    model = speedrun.build_model(recipe)
    x = np.random.default_rng(2).standard_normal((5, 32, 32, 3)).astype(np.float32)
    plain = model.predict(x, verbose=0)
    mirror = model.predict(np.ascontiguousarray(x[:, :, ::-1]), verbose=0)
    np.testing.assert_allclose(speedrun.predict_tta(model, x, 0), plain, rtol=1e-6)
    np.testing.assert_allclose(speedrun.predict_tta(model, x, 1), 0.5 * (plain + mirror), rtol=1e-5, atol=1e-7)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    views = [speedrun.predict_tta(model, np.ascontiguousarray(padded[:, a:a + 32, a:a + 32]), 1) for a in (0, 2)]
    np.testing.assert_allclose(speedrun.predict_tta(model, x, 2),
                               0.25 * (plain + mirror) + 0.25 * (views[0] + views[1]), rtol=1e-5, atol=1e-7)


@pytest.fixture
def small_cifar(tmp_path):
    """A CIFAR-shaped .npz in Keras's layout: 600 + 300 images whose class is a colour cast,
    so that one epoch of the quick mode can learn something."""
    r = np.random.default_rng(0)

    def split(n):
        y = r.integers(0, 10, n)
        x = r.integers(0, 120, (n, 32, 32, 3)) + (y[:, None, None, None] * np.array([13, 7, 3])) % 128
        return x.astype(np.uint8), y
    (x, y), (xt, yt) = split(600), split(300)
    path = tmp_path / "small_cifar.npz"
    np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt)
    return path


def test_quick_mode_runs_the_whole_recipe_and_repeats_with_a_seed(small_cifar, tmp_path, capsys):
    results = []
    for run in range(2):
        out = tmp_path / f"summary{run}.json"
        assert cli.main(["speedrun", "--quick", "--data", str(small_cifar), "--verbose", "0", "--curve",
                         "--plot", str(tmp_path / "curve.png"), "--out", str(out)]) == 0
        last = capsys.readouterr().out.strip().splitlines()[-1]
        final = json.loads(last)
        assert set(final) == {"test_accuracy", "seconds", "epochs", "threads"} and final["epochs"] == 1
        results.append(json.loads(out.read_text()))
    assert results[0]["test_accuracy"] == results[1]["test_accuracy"]
    assert results[0]["curve"][0]["loss"] == results[1]["curve"][0]["loss"]
    assert results[0]["train_images"] == cli.QUICK_IMAGES[0] and (tmp_path / "curve.png").stat().st_size > 0


def test_leaving_a_trick_out_changes_the_run(small_cifar, tmp_path, capsys):
    """--without lookahead: the same seed, another result (the trick is really in the run)."""
    outs = []
    for without in ("", "lookahead"):
        out = tmp_path / f"without_{without}.json"
        assert cli.main(["speedrun", "--quick", "--data", str(small_cifar), "--verbose", "0",
                         "--without", without, "--out", str(out)]) == 0
        outs.append(json.loads(out.read_text()))
    assert outs[1]["recipe"]["tricks_off"] == ["lookahead"]
    assert outs[0]["curve"][0]["loss"] != outs[1]["curve"][0]["loss"]


def test_speedrun_refuses_images_that_are_not_cifar_shaped(tmp_path, capsys):
    path = tmp_path / "mnistish.npz"
    x = np.zeros((10, 28, 28), dtype=np.uint8)
    np.savez(path, x_train=x, y_train=np.zeros(10), x_test=x, y_test=np.zeros(10))
    assert cli.main(["speedrun", "--quick", "--data", str(path)]) == 2
    assert "needs 32x32 colour images" in capsys.readouterr().err
