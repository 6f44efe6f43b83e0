"""Fashion-MNIST: 60000 train and 10000 test greyscale 28x28 images of clothing, 10 classes.

``load_data()`` returns Keras's layout: ``x`` uint8 ``(n, 28, 28)``, ``y`` uint8 ``(n,)``. It
reads the four official IDX archives (see :mod:`tinycnn.datasets._files` for where they are
looked for; the folder name under ``TINYCNN_DATA_DIR`` and the cache is ``fashion-mnist``).

Fashion-MNIST is by H. Xiao, K. Rasul and R. Vollgraf, copyright 2017 Zalando SE, MIT licence.
"""
from . import _idx

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# The MD5 of each archive, as published in the dataset's README.
MD5 = {
    _idx.TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    _idx.TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
    _idx.TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
    _idx.TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
}

# The canonical host first, then the mirror Keras uses.
BASE_URLS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
]


def load_data(cache_dir=None):
    """``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.fashion_mnist.load_data()``."""
    return _idx.load_idx_dataset("fashion-mnist", MD5, BASE_URLS, cache_dir)
