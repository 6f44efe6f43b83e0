"""Build ``data/mnist_sample.npz``, the small MNIST copy that ships inside tinycnn.

It keeps the first 600 training and the first 100 test images of each digit (6000 + 1000,
original order), from the four official IDX archives, checked against their MD5s::

    python -m tinycnn.datasets.make_sample ../shared/datasets/mnist

The archive is written with fixed timestamps, so the same input gives the same bytes.
"""
from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from . import _files, _idx, mnist

TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 100
OUTPUT = Path(__file__).parent / "data" / "mnist_sample.npz"


def first_per_class(y: np.ndarray, per_class: int) -> np.ndarray:
    """Indices (ascending) of the first ``per_class`` samples of every label in ``y``."""
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)])
    return np.sort(keep)


def write_npz(path: Path, arrays: dict) -> None:
    """``numpy.savez_compressed`` with fixed zip timestamps, for reproducible bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist_dir", type=Path, help="folder with the four MNIST *-ubyte.gz files")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    arrays = {}
    for name in (_idx.TRAIN_IMAGES, _idx.TRAIN_LABELS, _idx.TEST_IMAGES, _idx.TEST_LABELS):
        path = args.mnist_dir / name
        _files.verify(path, mnist.MD5[name])
        arrays[name] = _idx.read_idx_gz(path)
    train = first_per_class(arrays[_idx.TRAIN_LABELS], TRAIN_PER_CLASS)
    test = first_per_class(arrays[_idx.TEST_LABELS], TEST_PER_CLASS)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.output, {"x_train": arrays[_idx.TRAIN_IMAGES][train],
                            "y_train": arrays[_idx.TRAIN_LABELS][train],
                            "x_test": arrays[_idx.TEST_IMAGES][test],
                            "y_test": arrays[_idx.TEST_LABELS][test]})
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes): "
          f"{len(train)} train and {len(test)} test images")


if __name__ == "__main__":
    main()
