"""Datasets already on disk: arrays in an ``.npz`` and image files in per-class folders."""
from __future__ import annotations

from pathlib import Path

import numpy as np

KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_PIL_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}


def load_npz(path):
    """``(x_train, y_train), (x_test, y_test)`` from an ``.npz`` with Keras's four keys.

    The arrays come back exactly as stored (no reshaping: the CIFAR-10 stand-in stores its
    labels as ``(n,)``, while :func:`tinycnn.datasets.cifar10.load_data` reshapes them to
    Keras's ``(n, 1)``). Pickled objects are refused.
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in KERAS_KEYS if k not in f.files]
        if missing:
            raise KeyError(f"{path.name} lacks {', '.join(missing)}; expected the keys "
                           f"{', '.join(KERAS_KEYS)} (Keras's layout)")
        x_train, y_train, x_test, y_test = (f[k] for k in KERAS_KEYS)
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"{path.name}: x_{split} has {len(x)} samples but y_{split} has "
                             f"{len(y)}")
    return (x_train, y_train), (x_test, y_test)


def image_folder(path, image_size=None, color_mode="rgb"):
    """Load a folder with one sub-folder of images per class: ``(x, y, class_names)``.

    ``class_names`` are the sub-folder names in sorted order (hidden ones skipped) and ``y``
    (int32, shape ``(n,)``) indexes them. ``x`` is uint8 ``(n, height, width, channels)`` with
    1, 3 or 4 channels for ``color_mode`` 'grayscale', 'rgb' or 'rgba'. Images are read in
    sorted order, sub-folders included, with Pillow; ``image_size=(height, width)`` resizes
    them (bilinear), otherwise they must all have one size.
    """
    from PIL import Image

    root = Path(path)
    if not root.is_dir():
        raise NotADirectoryError(f"image_folder: {root} is not a folder")
    if color_mode not in _PIL_MODES:
        raise ValueError(f"image_folder: color_mode must be one of {', '.join(_PIL_MODES)}, "
                         f"got {color_mode!r}")
    class_names = sorted(d.name for d in root.iterdir()
                         if d.is_dir() and not d.name.startswith("."))
    images, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(p for p in (root / name).rglob("*")
                       if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        for file in files:
            with Image.open(file) as img:
                img = img.convert(_PIL_MODES[color_mode])
                if image_size is not None:
                    height, width = image_size
                    img = img.resize((width, height), Image.BILINEAR)
                array = np.asarray(img, dtype=np.uint8)
            array = array.reshape(array.shape[0], array.shape[1], -1)
            if image_size is None and images and array.shape != images[0].shape:
                raise ValueError(f"image_folder: {file} is {array.shape[1]}x{array.shape[0]} but "
                                 f"earlier images are {images[0].shape[1]}x{images[0].shape[0]} "
                                 f"(width x height); pass image_size=(height, width)")
            images.append(array)
            labels.append(label)
    if not images:
        raise ValueError(f"image_folder: no images ({', '.join(IMAGE_EXTENSIONS)}) in the "
                         f"class sub-folders of {root}")
    return np.stack(images), np.asarray(labels, dtype=np.int32), class_names
