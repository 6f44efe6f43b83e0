"""The IDX format of MNIST and Fashion-MNIST, and the loader the two share.

An IDX file is a big-endian header (two zero bytes, a type code, the number of dimensions,
then each dimension as uint32) followed by the raw data. Both datasets ship four gzipped
IDX files: train/test images (uint8, n x 28 x 28) and labels (uint8, n).
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from . import _files

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"

_UBYTE = 0x08


def read_idx_gz(path: Path) -> np.ndarray:
    """The uint8 array in a gzipped IDX file; ``ValueError`` if it is corrupt or truncated."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path.name}: not a readable gzip file ({err}); it is truncated or "
                         f"corrupt") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE:
        raise ValueError(f"{path.name}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(f"{path.name}: IDX header says {shape} ({expected} bytes of data) but "
                         f"the file holds {len(raw) - header}; it is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def load_idx_dataset(dataset: str, md5s: dict, base_urls: list[str], cache_dir=None):
    """Keras's ``((x_train, y_train), (x_test, y_test))`` from the four IDX files of ``dataset``."""
    cached = _files.load_cached(dataset, (28, 28), cache_dir)
    if cached is not None:
        return cached
    arrays = {}
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        path = _files.fetch(dataset, name, md5s[name], [u + name for u in base_urls], cache_dir)
        arrays[name] = read_idx_gz(path)
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        if arrays[images].ndim != 3 or arrays[labels].shape != arrays[images].shape[:1]:
            raise ValueError(f"{dataset}: {images} holds {arrays[images].shape} but {labels} "
                             f"holds {arrays[labels].shape}; they do not belong together")
    result = ((arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS]),
              (arrays[TEST_IMAGES], arrays[TEST_LABELS]))
    _files.save_cached(dataset, result, cache_dir)
    return result
