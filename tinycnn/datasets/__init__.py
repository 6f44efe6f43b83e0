"""Datasets with Keras's API: ``tinycnn.datasets.mnist.load_data()`` and friends.

* :mod:`mnist`, :mod:`fashion_mnist`, :mod:`cifar10` - ``load_data(cache_dir=None)`` and
  ``CLASS_NAMES``; files are found under ``TINYCNN_DATA_DIR``, in the cache
  (``~/.tinycnn/datasets``, or ``$TINYCNN_HOME/datasets``) or downloaded and checked.
* :mod:`mnist_sample` - 6000 + 1000 MNIST images shipped with tinycnn, for working offline.
* :func:`load_npz` - arrays in Keras's layout; :func:`image_folder` - one folder per class.
"""
from . import cifar10, fashion_mnist, mnist, mnist_sample
from ._files import ChecksumError, DatasetNotFoundError
from .local import image_folder, load_npz

__all__ = ["mnist", "fashion_mnist", "cifar10", "mnist_sample", "load_npz", "image_folder",
           "ChecksumError", "DatasetNotFoundError"]
