"""Small utilities with Keras's names: seeding, default names and one-hot labels."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from . import np_utils  # Keras 2's module: ``from keras.utils import np_utils``
from .np_utils import to_categorical

__all__ = ["clear_session", "np_utils", "rng", "set_random_seed", "to_categorical", "unique_name"]

_generator = np.random.default_rng()
_name_counts: defaultdict = defaultdict(int)


def set_random_seed(seed: int) -> None:
    """Seed tinycnn's random stream (weight initialisation, dropout, shuffling).

    tinycnn never uses NumPy's global random state; every random draw comes from the
    ``numpy.random.Generator`` returned by :func:`rng`, which this call replaces.
    """
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def rng() -> np.random.Generator:
    """The generator behind all of tinycnn's randomness."""
    return _generator


def count_argument(value, name: str, what: str, minimum: int = 1) -> int:
    """``value`` as an int, checked: a Python or NumPy integer (not a bool) of at least
    ``minimum``; anything else raises ValueError naming ``what``'s argument ``name``."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        least = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{what}: {name} must be {least}, got {value!r}")
    return int(value)


def unique_name(prefix: str) -> str:
    """Keras 3 numbering: the first layer of a kind is ``prefix``, then ``prefix_1``, ..."""
    count = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if count == 0 else f"{prefix}_{count}"


def clear_session() -> None:
    """Restart default layer and model numbering (``conv2d``, ``conv2d_1``, ...), as
    Keras's ``clear_session``."""
    _name_counts.clear()
