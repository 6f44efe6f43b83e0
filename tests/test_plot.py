"""Every picture renders to a PNG of plausible size; the Sobel helper computes edges."""
import numpy as np
import pytest

from tinycnn import plot
from tinycnn.callbacks import History
from tinycnn.zoo import build

R = np.random.default_rng(0)
IMAGES = R.random((6, 32, 32, 3)).astype(np.float32)
LABELS = np.array([0, 1, 2, 1, 0, 2])
NAMES = ["cat", "dog", "frog"]


def history():
    h = History()
    h.history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8],
                 "val_loss": [1.1, 0.8, 0.7], "val_accuracy": [0.4, 0.6, 0.7]}
    return h


def model():
    m = build("seed003_cifar10_small", compile=False)
    return m


CASES = {
    "image_grid": lambda p: plot.image_grid(IMAGES, LABELS, NAMES, path=p),
    "original_vs_augmented": lambda p: plot.original_vs_augmented(IMAGES[:3], IMAGES[3:], path=p),
    "training_curves": lambda p: plot.training_curves(history(), path=p),
    "prediction_grid": lambda p: plot.prediction_grid(IMAGES, LABELS, np.eye(3)[[0, 2, 2, 1, 0, 1]], NAMES, path=p),
    "confusion_matrix": lambda p: plot.confusion_matrix(LABELS, [0, 2, 2, 1, 0, 1], NAMES, path=p),
    "conv_filters": lambda p: plot.conv_filters(model().layers[0], path=p),
    "feature_maps": lambda p: plot.feature_maps(model(), IMAGES[0], 0, path=p),
    "rgb_channels": lambda p: plot.rgb_channels(IMAGES[0], path=p),
    "sobel": lambda p: plot.sobel(IMAGES[0], path=p),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_plot_writes_a_png(name, tmp_path):
    path = tmp_path / f"{name}.png"
    fig = CASES[name](path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 5_000 < len(data) < 2_000_000
    assert fig.axes


def test_prediction_titles_are_green_when_right_and_red_when_wrong():
    fig = plot.prediction_grid(IMAGES[:2], [0, 1], [0, 2], NAMES)
    titles = [ax.title for ax in fig.axes[:2]]
    assert [t.get_text() for t in titles] == ["cat (cat)", "frog (dog)"]
    assert [t.get_color() for t in titles] == ["green", "red"]


def test_sobel_x_responds_to_vertical_edges_only():
    image = np.zeros((8, 8), np.float32)
    image[:, 4:] = 1.0                      # a vertical edge between columns 3 and 4
    gx, gy = plot.apply_kernel(image, plot.SOBEL_X), plot.apply_kernel(image, plot.SOBEL_Y)
    assert np.allclose(gx[2:6, 3:5], 4.0)  # 1 + 2 + 1 across the edge
    assert np.allclose(gy[1:7], 0.0)


def test_confusion_matrix_counts():
    fig = plot.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], NAMES)
    written = [t.get_text() for t in fig.axes[0].texts]
    assert written == ["1", "0", "0", "0", "1", "1", "0", "0", "1"]
