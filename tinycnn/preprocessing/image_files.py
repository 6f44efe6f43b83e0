"""Images as files and arrays, with Keras's names: ``load_img``, ``img_to_array``,
``array_to_img`` (through Pillow, which matplotlib already installs)."""
from __future__ import annotations

import os

import numpy as np

_MODES = {"rgb": "RGB", "grayscale": "L", "rgba": "RGBA"}
_RESAMPLING = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1, "box": 4, "hamming": 5}


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading and writing image files needs Pillow: pip install pillow") from None
    return Image


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest"):
    """A PIL image from ``path``, converted to ``color_mode`` ('rgb', 'grayscale', 'rgba')
    and resized to ``target_size`` = (height, width) when given."""
    if color_mode not in _MODES:
        raise ValueError(f"load_img: color_mode must be one of {sorted(_MODES)}, got {color_mode!r}")
    if interpolation not in _RESAMPLING:
        raise ValueError(f"load_img: interpolation must be one of {sorted(_RESAMPLING)}, got {interpolation!r}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            image = _pil().open(handle)
            image.load()
    except FileNotFoundError:
        raise FileNotFoundError(f"load_img: no file at {path!r}") from None
    except OSError as err:
        raise ValueError(f"load_img: {path!r} is not an image file Pillow can read ({err})") from None
    image = image.convert(_MODES[color_mode]) if image.mode != _MODES[color_mode] else image
    if target_size is not None:
        height, width = target_size
        if (image.height, image.width) != (height, width):
            image = image.resize((width, height), _RESAMPLING[interpolation])
    return image


def img_to_array(img, dtype="float32") -> np.ndarray:
    """A PIL image as an array of shape (height, width, channels) (channels 1 for grayscale)."""
    array = np.asarray(img, dtype=dtype)
    return array[:, :, None] if array.ndim == 2 else array


def array_to_img(x, scale=True):
    """An array (height, width, 1, 3 or 4 channels) as a PIL image. With ``scale`` the values
    are first mapped linearly onto 0..255 (the minimum to 0, the maximum to 255)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] not in (1, 3, 4):
        raise ValueError(f"array_to_img: expected an array of shape (height, width, 1, 3 or 4 channels), "
                         f"got shape {x.shape}")
    if scale:
        x = x - x.min()
        top = x.max()
        if top > 0:
            x = x / top
        x = x * 255
    pixels = np.clip(np.round(x), 0, 255).astype(np.uint8)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[x.shape[2]]
    return _pil().fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode)
