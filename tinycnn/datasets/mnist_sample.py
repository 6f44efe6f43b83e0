"""A small MNIST that ships inside tinycnn, for working offline.

``load_data()`` returns 6000 training and 1000 test images in Keras's MNIST layout (``x``
uint8 ``(n, 28, 28)``, ``y`` uint8 ``(n,)``): the first 600 training and the first 100 test
images of each digit, in their original order. It is built by
:mod:`tinycnn.datasets.make_sample` from the official archives.

The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
licensed CC BY-SA 3.0.
"""
from pathlib import Path

from .local import load_npz
from .mnist import CLASS_NAMES

PATH = Path(__file__).parent / "data" / "mnist_sample.npz"

__all__ = ["CLASS_NAMES", "PATH", "load_data"]


def load_data():
    """``(x_train, y_train), (x_test, y_test)`` of the embedded 6000 + 1000 image MNIST sample."""
    return load_npz(PATH)
