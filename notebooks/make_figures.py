"""Render the figures gallery (docs/figures/*.png) from the full-length runs.

    python notebooks/run_full.py augmentation mnist_cnn model_2 mnist_mlp   # trains, keeps weights
    python notebooks/make_figures.py                                        # draws docs/figures/

``run_full.py`` leaves each run's final weights and history in ``notebooks/full_runs/``;
this script rebuilds each zoo model, loads those weights and draws, with ``tinycnn.plot``:
learning curves of every recipe found, the first convolution's filters and feature maps
(MNIST CNN and the CIFAR-10 model of the augmentation notebook), prediction grids with the
wrong answers in red, CIFAR-10's confusion matrix, and augmentation samples made with the
seed notebook's ImageDataGenerator settings. Data: as run_full.py (``shared/datasets``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "docs" / "figures"
sys.path.insert(0, str(HERE))

from run_full import RECIPES, RUNS, find_data_dir, load  # noqa: E402

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def trained(recipe_name):
    """The zoo model of a recipe with the weights its full run ended with, or None."""
    from tinycnn import zoo
    weights = RUNS / f"{recipe_name}.weights.npz"
    if not weights.exists():
        return None
    model = zoo.build(RECIPES[recipe_name].model)
    model.load_weights(str(weights))
    return model


def main() -> int:
    import matplotlib
    matplotlib.use("Agg")
    from tinycnn import plot
    from tinycnn.preprocessing.image import ImageDataGenerator
    find_data_dir()
    OUT.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name in RECIPES:
        history = RUNS / f"{name}.history.json"
        if history.exists():
            plot.training_curves(json.loads(history.read_text()), path=OUT / f"curves_{name}.png")
            drawn.append(f"curves_{name}.png")
    (_, _), (xm, ym) = load("mnist")
    mnist = trained("mnist_cnn")
    if mnist is not None:
        plot.conv_filters(mnist.layers[0], path=OUT / "mnist_cnn_filters.png")
        plot.feature_maps(mnist, xm[0], mnist.layers[0], path=OUT / "mnist_cnn_feature_maps.png")
        predicted = mnist.predict(xm[:32], verbose=0).argmax(-1)
        plot.prediction_grid(xm[:32], ym[:32].argmax(-1), predicted, path=OUT / "mnist_cnn_predictions.png")
        drawn += ["mnist_cnn_filters.png", "mnist_cnn_feature_maps.png", "mnist_cnn_predictions.png"]
    (xc, _), (xt, yt) = load("cifar10")
    cifar = trained("augmentation")
    if cifar is not None:
        plot.conv_filters(cifar.layers[0], path=OUT / "cifar10_filters.png")
        plot.feature_maps(cifar, xt[3], cifar.layers[0], path=OUT / "cifar10_feature_maps.png")
        predicted = cifar.predict(xt, verbose=0).argmax(-1)
        plot.prediction_grid(xt[:32], yt[:32].argmax(-1), predicted[:32], class_names=CIFAR_CLASSES,
                             path=OUT / "cifar10_predictions.png")
        plot.confusion_matrix(yt.argmax(-1), predicted, class_names=CIFAR_CLASSES,
                              path=OUT / "cifar10_confusion.png")
        drawn += ["cifar10_filters.png", "cifar10_feature_maps.png", "cifar10_predictions.png",
                  "cifar10_confusion.png"]
    generator = ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True)
    originals = xc[1:12]
    augmented = next(generator.flow(originals, batch_size=len(originals), shuffle=False, seed=0))
    plot.original_vs_augmented(originals, augmented, path=OUT / "cifar10_augmentation.png")
    drawn.append("cifar10_augmentation.png")
    print("wrote " + ", ".join(drawn) + f" to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
