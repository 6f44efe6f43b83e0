"""Pictures for looking at data, training and what a CNN computes.

Every function returns a :class:`matplotlib.figure.Figure` (shown inline by Jupyter) and
writes a PNG when given ``path``. Figures are made with matplotlib's object API, so no
display and no global pyplot state are needed.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import functional as F

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
SOBEL_Y = SOBEL_X.T.copy()


def _finish(fig: Figure, path) -> Figure:
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _grid(n: int, ncols: int, cell: float = 1.6):
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(cell * ncols, cell * nrows + 0.3))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    return fig, axes


def _show(ax, image) -> None:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype.kind == "f" and image.ndim == 3:
        low, high = float(image.min()), float(image.max())
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None)


def _label(label, class_names) -> str:
    index = int(np.argmax(label)) if np.ndim(label) else int(label)
    return class_names[index] if class_names is not None else str(index)


def image_grid(images, labels=None, class_names=None, ncols=8, path=None) -> Figure:
    """A grid of images, each titled with its class name (or label)."""
    images = np.asarray(images)
    fig, axes = _grid(len(images), ncols)
    for i, image in enumerate(images):
        _show(axes[i], image)
        if labels is not None:
            axes[i].set_title(_label(labels[i], class_names), fontsize=8)
    return _finish(fig, path)


def original_vs_augmented(originals, augmented, path=None) -> Figure:
    """Top row: original images; bottom row: the same images after augmentation."""
    originals, augmented = np.asarray(originals), np.asarray(augmented)
    n = len(originals)
    fig = Figure(figsize=(1.6 * n, 3.6))
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        for row, images, title in ((0, originals, "original"), (1, augmented, "augmented")):
            _show(axes[row, i], images[i])
            axes[row, i].axis("off")
            axes[row, i].set_title(title, fontsize=8)
    return _finish(fig, path)


def training_curves(history, path=None) -> Figure:
    """Loss and every metric per epoch, training next to validation."""
    logs = history.history if hasattr(history, "history") else dict(history)
    names = [k for k in logs if not k.startswith("val_")]
    fig = Figure(figsize=(5 * len(names), 3.8))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        epochs = np.arange(1, len(logs[name]) + 1)
        ax.plot(epochs, logs[name], marker="o", label=f"training {name}")
        if f"val_{name}" in logs:
            ax.plot(epochs, logs[f"val_{name}"], marker="o", label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
        ax.grid(alpha=0.3)
    return _finish(fig, path)


def prediction_grid(images, y_true, y_pred, class_names=None, ncols=8, path=None) -> Figure:
    """Images titled "pred (true)": green when the prediction is right, red when wrong.
    ``y_true`` / ``y_pred`` may be labels, one-hot rows or probability rows."""
    images = np.asarray(images)
    fig, axes = _grid(len(images), ncols)
    for i, image in enumerate(images):
        _show(axes[i], image)
        pred, true = _label(y_pred[i], class_names), _label(y_true[i], class_names)
        axes[i].set_title(f"{pred} ({true})", fontsize=8, color="green" if pred == true else "red")
    return _finish(fig, path)


def confusion_matrix(y_true, y_pred, class_names=None, path=None) -> Figure:
    """Counts of (true class, predicted class) pairs, with the counts written in."""
    true = np.argmax(y_true, axis=-1) if np.ndim(y_true) > 1 and np.shape(y_true)[-1] > 1 else np.ravel(y_true)
    pred = np.argmax(y_pred, axis=-1) if np.ndim(y_pred) > 1 and np.shape(y_pred)[-1] > 1 else np.ravel(y_pred)
    k = len(class_names) if class_names is not None else int(max(true.max(), pred.max())) + 1
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (true.astype(int), pred.astype(int)), 1)
    fig = Figure(figsize=(1 + 0.6 * k, 1 + 0.6 * k))
    ax = fig.subplots()
    ax.imshow(counts, cmap="Blues")
    names = class_names if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), c in np.ndenumerate(counts):
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                color="white" if c > counts.max() / 2 else "black")
    return _finish(fig, path)


def conv_filters(layer, ncols=8, path=None) -> Figure:
    """The kernels of a Conv2D layer, one picture per output channel (RGB when the layer
    reads 3 channels, else the first input channel in gray)."""
    kernel = layer.get_weights()[0]                     # (kh, kw, cin, cout)
    fig, axes = _grid(kernel.shape[3], ncols, cell=1.0)
    for f in range(kernel.shape[3]):
        w = kernel[:, :, :, f]
        _show(axes[f], w if w.shape[2] == 3 else w[:, :, 0])
        axes[f].set_title(str(f), fontsize=7)
    return _finish(fig, path)


def layer_output(model, image, layer) -> np.ndarray:
    """The output of ``layer`` (an index into ``model.layers``, a name or the layer) for one
    image, with Keras's idiom: ``Model(inputs=model.input, outputs=layer.output)``, which
    works for a graph as for a stack of layers."""
    from .models import Model
    layers = model.layers
    if isinstance(layer, str):
        matches = [i for i, l in enumerate(layers) if l.name == layer]
        if not matches:
            raise ValueError(f"no layer named {layer!r}; the model has: {', '.join(l.name for l in layers)}")
        layer = matches[0]
    elif not isinstance(layer, (int, np.integer)):
        layer = layers.index(layer)
    probe = Model(inputs=model.input, outputs=layers[layer].output)
    return probe.predict(np.asarray(image, dtype=np.float32)[None], verbose=0)[0]


def feature_maps(model, image, layer, ncols=8, path=None) -> Figure:
    """Every channel of one layer's output for one image."""
    maps = layer_output(model, image, layer)
    if maps.ndim != 3:
        raise ValueError(f"feature_maps: layer output has shape {maps.shape}; pick a convolution or pooling layer")
    fig, axes = _grid(maps.shape[-1], ncols, cell=1.2)
    for c in range(maps.shape[-1]):
        axes[c].imshow(maps[:, :, c], cmap="viridis")
        axes[c].set_title(str(c), fontsize=7)
    return _finish(fig, path)


def rgb_channels(image, path=None) -> Figure:
    """The image and its red, green and blue channels side by side."""
    image = np.asarray(image)
    fig = Figure(figsize=(10, 2.8))
    axes = fig.subplots(1, 4)
    _show(axes[0], image)
    axes[0].set_title("image")
    for ax, c, (name, cmap) in zip(axes[1:], range(3), (("red", "Reds"), ("green", "Greens"), ("blue", "Blues"))):
        ax.imshow(image[:, :, c], cmap=cmap)
        ax.set_title(name)
    for ax in axes:
        ax.axis("off")
    return _finish(fig, path)


def apply_kernel(image, kernel) -> np.ndarray:
    """Convolve a gray (H, W) or colour (H, W, C) image with one 2-D kernel, using
    tinycnn's own conv2d ('same' padding; colour images are averaged to gray first)."""
    image = np.asarray(image, dtype=np.float32)
    gray = image.mean(axis=-1) if image.ndim == 3 else image
    w = np.asarray(kernel, dtype=np.float32)[:, :, None, None]
    return F.conv2d(gray[None, :, :, None], w, padding="same").data[0, :, :, 0]


def sobel(image, path=None) -> Figure:
    """An image, its Sobel x and y responses (vertical and horizontal edges) and the edge
    magnitude sqrt(gx^2 + gy^2), all computed with tinycnn's conv2d."""
    gx, gy = apply_kernel(image, SOBEL_X), apply_kernel(image, SOBEL_Y)
    fig = Figure(figsize=(10, 2.8))
    axes = fig.subplots(1, 4)
    _show(axes[0], image)
    for ax, picture, title in zip(axes[1:], (gx, gy, np.hypot(gx, gy)), ("Sobel x", "Sobel y", "magnitude")):
        ax.imshow(picture, cmap="gray")
        ax.set_title(title)
    axes[0].set_title("image")
    for ax in axes:
        ax.axis("off")
    return _finish(fig, path)
