"""MNIST handwritten digits: 60000 train and 10000 test greyscale 28x28 images, 10 classes.

``load_data()`` returns Keras's layout: ``x`` uint8 ``(n, 28, 28)``, ``y`` uint8 ``(n,)``. It
reads the four official IDX archives (see :mod:`tinycnn.datasets._files` for where they are
looked for); for a small copy that ships with tinycnn see :mod:`tinycnn.datasets.mnist_sample`.

The MNIST database is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
licensed CC BY-SA 3.0.
"""
from . import _idx

CLASS_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]

# The published MD5 of each archive.
MD5 = {
    _idx.TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    _idx.TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    _idx.TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    _idx.TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}

# Mirrors holding the original files, tried in order.
BASE_URLS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]


def load_data(cache_dir=None):
    """``(x_train, y_train), (x_test, y_test)`` of MNIST, as ``keras.datasets.mnist.load_data()``.

    The files are downloaded only when they are found neither in ``TINYCNN_DATA_DIR`` nor in
    the cache; offline, use :func:`tinycnn.datasets.mnist_sample.load_data`.
    """
    return _idx.load_idx_dataset("mnist", MD5, BASE_URLS, cache_dir)
