"""Keras's ``backend`` module, as notebooks use it: ``from tinycnn import backend as K``.

(Not to be confused with the kernel tiers, which ``tinycnn.set_backend`` chooses.)
"""
from __future__ import annotations

import numpy as np

from .utils import clear_session

EPSILON = 1e-7

__all__ = ["clear_session", "count_params", "epsilon", "floatx", "image_data_format"]


def image_data_format() -> str:
    """Always ``'channels_last'``: tinycnn's images are NHWC."""
    return "channels_last"


def epsilon() -> float:
    """The fuzz factor Keras adds to avoid divisions by zero, 1e-7."""
    return EPSILON


def floatx() -> str:
    """The default float type, ``'float32'``."""
    return "float32"


def count_params(x) -> int:
    """The number of values in a weight (a Tensor or an array)."""
    return int(np.prod(np.shape(x.data if hasattr(x, "data") else x)))
