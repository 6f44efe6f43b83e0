"""CIFAR-10: 50000 train and 10000 test colour 32x32 images, 10 classes.

``load_data()`` returns Keras's layout: ``x`` uint8 ``(n, 32, 32, 3)`` (channels last) and
``y`` uint8 ``(n, 1)``. Sources, in order:

1. the parsed arrays cached by an earlier load;
2. the official ``cifar-10-python.tar.gz`` in ``TINYCNN_DATA_DIR`` or in the cache;
3. the JPEG-75 stand-in ``cifar10_jpeg75.npz`` in ``TINYCNN_DATA_DIR`` (directly or under
   ``cifar10-jpeg75/``): the original order and labels but lossy pixels, so a warning says so;
4. a download of the official archive from Toronto.

The archive's batches are Python pickles; they are read with an unpickler that can build
only dicts, lists, strings and NumPy arrays, never arbitrary objects.

CIFAR-10: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009.
"""
from __future__ import annotations

import pickle
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from . import _files
from .local import load_npz

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy < 2
    from numpy.core.multiarray import _reconstruct

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
               "dog", "frog", "horse", "ship", "truck"]

DATASET = "cifar10"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
URLS = ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
BATCH_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"

STAND_IN = "cifar10_jpeg75.npz"
STAND_IN_FOLDER = "cifar10-jpeg75"
STAND_IN_MD5 = "c158d19daf3e54b87f1c682f1c9950ba"


class RefusedPickle(pickle.UnpicklingError):
    """A batch names a callable that a CIFAR-10 batch never holds (a payload, not data)."""


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10 batches: only the NumPy callables an ndarray's pickle names load."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(
                f"refusing to load {module}.{name} from a CIFAR-10 batch: these files hold "
                f"only dicts, lists and NumPy arrays") from None


def load_batch(path: Path):
    """``(x, y)`` of one CIFAR-10 python batch: x uint8 ``(n, 32, 32, 3)``, y uint8 ``(n,)``."""
    try:
        with open(path, "rb") as f:
            batch = _BatchUnpickler(f, encoding="bytes").load()
    except RefusedPickle:
        raise
    except (EOFError, pickle.UnpicklingError, ValueError) as err:
        raise ValueError(f"{path}: a truncated or damaged CIFAR-10 batch ({type(err).__name__}: {err}); "
                         "delete the archive and its extracted folder, and download it again") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path.name}: not a CIFAR-10 batch (a {type(batch).__name__}, "
                         f"not a dict)")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path.name}: not a CIFAR-10 batch (no 'data' and 'labels' entries)")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path.name}: data {data.shape} and {len(labels)} labels do not form "
                         f"a CIFAR-10 batch of (n, 3072) pixels with n labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _from_archive(archive: Path, work_dir: Path):
    """Extract the official archive into a temporary folder in ``work_dir``; read its batches."""
    work_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="extract-", dir=work_dir))
    try:
        _files.safe_extract(archive, tmp)
        folder = tmp / BATCH_FOLDER
        missing = [n for n in TRAIN_BATCHES + [TEST_BATCH] if not (folder / n).is_file()]
        if missing:
            raise ValueError(f"{archive.name}: {BATCH_FOLDER}/ lacks {', '.join(missing)}")
        train = [load_batch(folder / n) for n in TRAIN_BATCHES]
        x_test, y_test = load_batch(folder / TEST_BATCH)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))


def _from_stand_in(path: Path):
    """The JPEG-75 stand-in, checked and with labels reshaped to Keras's ``(n, 1)``."""
    _files.verify(path, STAND_IN_MD5)
    warnings.warn(f"cifar10.load_data: using the JPEG-75 stand-in {path}, not the original "
                  f"CIFAR-10 pixels (same order and labels); accuracy can differ from "
                  f"published figures by a point or two", stacklevel=3)
    (x_train, y_train), (x_test, y_test) = load_npz(path)
    for x, y in ((x_train, y_train), (x_test, y_test)):
        if x.shape[1:] != (32, 32, 3) or len(y) != len(x):
            raise ValueError(f"{path.name}: holds x {x.shape} and y {y.shape}, not CIFAR-10's "
                             f"(n, 32, 32, 3) images with n labels")
    return ((x_train, y_train.astype(np.uint8).reshape(-1, 1)),
            (x_test, y_test.astype(np.uint8).reshape(-1, 1)))


def load_data(cache_dir=None):
    """``(x_train, y_train), (x_test, y_test)``, as ``keras.datasets.cifar10.load_data()``.

    The stand-in is not cached (it is already an ``.npz``), so its warning repeats on each load.
    """
    cached = _files.load_cached(DATASET, (32, 32, 3), cache_dir)
    if cached is not None:
        return cached
    official_on_disk = (_files.find_in_data_dirs(DATASET, ARCHIVE) is not None
                        or (_files.cache_root(cache_dir) / DATASET / ARCHIVE).is_file())
    stand_in = _files.find_in_data_dirs(STAND_IN_FOLDER, STAND_IN)
    if stand_in is not None and not official_on_disk:
        return _from_stand_in(stand_in)
    archive = _files.fetch(DATASET, ARCHIVE, ARCHIVE_MD5, URLS, cache_dir)
    result = _from_archive(archive, _files.cache_root(cache_dir) / DATASET)
    _files.save_cached(DATASET, result, cache_dir)
    return result
