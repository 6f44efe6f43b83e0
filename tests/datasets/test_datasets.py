"""Dataset loaders, on small archives the tests write in the official formats.

The network is never used: an autouse fixture replaces the downloader with one that fails,
and tests that exercise downloads substitute a fake. The real-data tests read the shared
copies next to the repository (``../shared/datasets``) and are skipped when they are absent.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tinycnn import datasets
from tinycnn.datasets import _files, _idx, cifar10, fashion_mnist, make_sample, mnist, mnist_sample

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
IDX_FILES = (_idx.TRAIN_IMAGES, _idx.TRAIN_LABELS, _idx.TEST_IMAGES, _idx.TEST_LABELS)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No network, no TINYCNN_DATA_DIR, and a cache (TINYCNN_HOME) inside tmp_path."""
    def offline(url, dest):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(_files, "download", offline)
    monkeypatch.delenv("TINYCNN_DATA_DIR", raising=False)
    monkeypatch.setenv("TINYCNN_HOME", str(tmp_path / "home"))
    return tmp_path


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def idx_gz(array: np.ndarray) -> bytes:
    """A gzipped IDX file of uint8 ``array``, byte for byte as MNIST's are laid out."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def write_idx_dataset(folder: Path, n_train=12, n_test=5, seed=0):
    """Write the four IDX archives of a tiny MNIST into ``folder``; return (arrays, md5 table)."""
    r = np.random.default_rng(seed)
    arrays = {
        _idx.TRAIN_IMAGES: r.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        _idx.TRAIN_LABELS: r.integers(0, 10, n_train, dtype=np.uint8),
        _idx.TEST_IMAGES: r.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        _idx.TEST_LABELS: r.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    table = {}
    for name, array in arrays.items():
        blob = idx_gz(array)
        (folder / name).write_bytes(blob)
        table[name] = md5_of(blob)
    return arrays, table


def assert_matches(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    for got, name in ((x_train, _idx.TRAIN_IMAGES), (y_train, _idx.TRAIN_LABELS),
                      (x_test, _idx.TEST_IMAGES), (y_test, _idx.TEST_LABELS)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])


def no_partial_files(folder: Path):
    return not any(p.name.endswith(".part") for p in folder.rglob("*"))


# --- MNIST / Fashion-MNIST ----------------------------------------------------------------

def test_mnist_reads_idx_archives_from_data_dir(isolated, monkeypatch):
    arrays, table = write_idx_dataset(isolated / "data")
    monkeypatch.setattr(mnist, "MD5", table)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    (x_train, y_train), (x_test, y_test) = loaded = mnist.load_data()
    assert x_train.shape == (12, 28, 28) and y_train.shape == (12,)
    assert x_test.shape == (5, 28, 28) and y_test.shape == (5,)
    assert_matches(loaded, arrays)


def test_data_dir_accepts_one_subfolder_per_dataset(isolated, monkeypatch):
    mnist_arrays, mnist_md5 = write_idx_dataset(isolated / "data" / "mnist", seed=1)
    fashion_arrays, fashion_md5 = write_idx_dataset(isolated / "data" / "fashion-mnist", seed=2)
    monkeypatch.setattr(mnist, "MD5", mnist_md5)
    monkeypatch.setattr(fashion_mnist, "MD5", fashion_md5)
    monkeypatch.setenv("TINYCNN_DATA_DIR", os.pathsep.join([str(isolated / "empty"),
                                                            str(isolated / "data")]))
    assert_matches(mnist.load_data(), mnist_arrays)
    assert_matches(fashion_mnist.load_data(), fashion_arrays)
    assert len(mnist.CLASS_NAMES) == len(fashion_mnist.CLASS_NAMES) == 10


def test_second_load_reads_the_cache_and_never_the_archives(isolated, monkeypatch):
    arrays, table = write_idx_dataset(isolated / "data")
    monkeypatch.setattr(mnist, "MD5", table)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    mnist.load_data()
    cached = isolated / "home" / "datasets" / "mnist" / "mnist.npz"
    assert cached.is_file()
    for name in IDX_FILES:
        (isolated / "data" / name).unlink()

    def no_parsing(path):
        raise AssertionError(f"{path} parsed again")

    monkeypatch.setattr(_idx, "read_idx_gz", no_parsing)
    assert_matches(mnist.load_data(), arrays)


def test_cache_dir_argument_overrides_tinycnn_home(isolated, monkeypatch):
    _, table = write_idx_dataset(isolated / "data")
    monkeypatch.setattr(mnist, "MD5", table)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    mnist.load_data(cache_dir=isolated / "elsewhere")
    assert (isolated / "elsewhere" / "mnist" / "mnist.npz").is_file()
    assert not (isolated / "home").exists()


def test_download_falls_back_to_the_next_mirror_and_verifies(isolated, monkeypatch):
    arrays, table = write_idx_dataset(isolated / "served")
    monkeypatch.setattr(mnist, "MD5", table)
    monkeypatch.setattr(mnist, "BASE_URLS", ["https://down.example/", "https://up.example/"])
    calls = []

    def fake_download(url, dest):
        calls.append(url)
        if url.startswith("https://down.example/"):
            raise urllib.error.URLError("host unreachable")
        dest.write_bytes((isolated / "served" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(_files, "download", fake_download)
    assert_matches(mnist.load_data(), arrays)
    folder = isolated / "home" / "datasets" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*IDX_FILES, "mnist.npz"])
    assert len(calls) == 8 and calls[1] == "https://up.example/" + _idx.TRAIN_IMAGES
    assert no_partial_files(folder)


@pytest.mark.parametrize("damage", ["wrong bytes", "truncated"])
def test_download_failing_its_checksum_is_an_error_and_leaves_nothing(isolated, monkeypatch,
                                                                      damage):
    _, table = write_idx_dataset(isolated / "served")
    monkeypatch.setattr(mnist, "MD5", table)

    def bad_download(url, dest):
        good = (isolated / "served" / url.rsplit("/", 1)[1]).read_bytes()
        bad = b"<html>not found</html>" if damage == "wrong bytes" else good[:len(good) // 2]
        dest.write_bytes(bad)

    monkeypatch.setattr(_files, "download", bad_download)
    with pytest.raises(datasets.ChecksumError,
                       match="sent a file with MD5 .* expected .* discarded"):
        mnist.load_data()
    folder = isolated / "home" / "datasets" / "mnist"
    assert list(folder.iterdir()) == []


def test_download_cut_off_midway_leaves_nothing(isolated, monkeypatch):
    _, table = write_idx_dataset(isolated / "served")
    monkeypatch.setattr(mnist, "MD5", table)

    def interrupted(url, dest):
        dest.write_bytes(b"\x1f\x8b partial")
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(_files, "download", interrupted)
    with pytest.raises(datasets.DatasetNotFoundError, match="connection reset"):
        mnist.load_data()
    assert list((isolated / "home" / "datasets" / "mnist").iterdir()) == []


def test_bad_cached_archive_is_downloaded_again(isolated, monkeypatch):
    arrays, table = write_idx_dataset(isolated / "served")
    monkeypatch.setattr(mnist, "MD5", table)
    folder = isolated / "home" / "datasets" / "mnist"
    folder.mkdir(parents=True)
    (folder / _idx.TRAIN_IMAGES).write_bytes(b"garbage")
    monkeypatch.setattr(_files, "download", lambda url, dest: dest.write_bytes(
        (isolated / "served" / url.rsplit("/", 1)[1]).read_bytes()))
    with pytest.warns(UserWarning, match="fails its MD5 check; downloading it again"):
        assert_matches(mnist.load_data(), arrays)


def test_bad_file_in_data_dir_is_an_error_and_is_kept(isolated, monkeypatch):
    _, table = write_idx_dataset(isolated / "data")
    monkeypatch.setattr(mnist, "MD5", table)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    bad = isolated / "data" / _idx.TEST_LABELS
    bad.write_bytes(bad.read_bytes()[:-3])
    with pytest.raises(datasets.ChecksumError, match=_idx.TEST_LABELS):
        mnist.load_data()
    assert bad.is_file()
    assert not (isolated / "home" / "datasets" / "mnist" / "mnist.npz").exists()


def test_offline_error_names_the_file_and_where_to_put_it(isolated):
    with pytest.raises(datasets.DatasetNotFoundError) as err:
        mnist.load_data()
    message = str(err.value)
    target = isolated / "home" / "datasets" / "mnist" / _idx.TRAIN_IMAGES
    assert _idx.TRAIN_IMAGES in message and str(target) in message
    assert "TINYCNN_DATA_DIR" in message and "network disabled in tests" in message
    assert mnist.BASE_URLS[0] + _idx.TRAIN_IMAGES in message


def test_truncated_archive_with_matching_checksum_is_reported(isolated, monkeypatch):
    arrays, table = write_idx_dataset(isolated / "data")
    cut_gzip = idx_gz(arrays[_idx.TRAIN_IMAGES])[:-40]
    short_idx = gzip.compress(gzip.decompress(idx_gz(arrays[_idx.TEST_IMAGES]))[:-100])
    (isolated / "data" / _idx.TRAIN_IMAGES).write_bytes(cut_gzip)
    (isolated / "data" / _idx.TEST_IMAGES).write_bytes(short_idx)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    monkeypatch.setattr(mnist, "MD5", {**table, _idx.TRAIN_IMAGES: md5_of(cut_gzip),
                                       _idx.TEST_IMAGES: md5_of(short_idx)})
    with pytest.raises(ValueError, match="truncated or corrupt"):
        mnist.load_data()
    with pytest.raises(ValueError, match=r"IDX header says \(5, 28, 28\).*truncated"):
        _idx.read_idx_gz(isolated / "data" / _idx.TEST_IMAGES)


# --- CIFAR-10 -------------------------------------------------------------------------------

class Py2StylePickler(pickle._Pickler):
    """Writes ``bytes`` with Python 2's string opcodes, as in the real batches (pickled by
    Python 2 and read with ``encoding='bytes'``, so their keys come back as bytes)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def batch_pickle(data: np.ndarray, labels: list, label=b"training batch") -> bytes:
    buffer = io.BytesIO()
    batch = {b"batch_label": label, b"labels": labels, b"data": data,
             b"filenames": [b"x.png"] * len(labels)}
    Py2StylePickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue()


def add_member(tar, name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    tar.addfile(info, io.BytesIO(data))


def write_cifar_archive(path: Path, per_batch=3, seed=0, replace=None, extra=()):
    """A cifar-10-python.tar.gz with tiny batches; ``replace`` maps batch names to raw bytes."""
    r = np.random.default_rng(seed)
    batches = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        add_member(tar, "cifar-10-batches-py", kind=tarfile.DIRTYPE)
        for name in cifar10.TRAIN_BATCHES + [cifar10.TEST_BATCH]:
            data = r.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            labels = [int(v) for v in r.integers(0, 10, per_batch)]
            batches[name] = (data, labels)
            blob = (replace or {}).get(name) or batch_pickle(data, labels)
            add_member(tar, f"cifar-10-batches-py/{name}", blob)
        add_member(tar, "cifar-10-batches-py/readme.html", b"<html></html>")
        for member in extra:
            add_member(tar, *member)
    return batches, md5_of(path.read_bytes())


def test_cifar10_reads_the_python_archive_in_keras_layout(isolated, monkeypatch):
    batches, digest = write_cifar_archive(isolated / "data" / "cifar10" / cifar10.ARCHIVE)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", digest)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    assert x_test.shape == (3, 32, 32, 3) and y_test.shape == (3, 1)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    data, labels = batches["data_batch_2"]
    # The 3072 bytes of a row are the red, green and blue 32x32 planes, row-major.
    np.testing.assert_array_equal(x_train[3:6, 4, 7, 1], data[:, 1024 + 4 * 32 + 7])
    np.testing.assert_array_equal(x_train[3:6].transpose(0, 3, 1, 2).reshape(3, 3072), data)
    np.testing.assert_array_equal(y_train[3:6, 0], labels)
    np.testing.assert_array_equal(y_test[:, 0], batches["test_batch"][1])
    assert len(cifar10.CLASS_NAMES) == 10


def test_cifar10_second_load_does_not_extract_again(isolated, monkeypatch):
    _, digest = write_cifar_archive(isolated / "data" / cifar10.ARCHIVE)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", digest)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    first = cifar10.load_data()
    folder = isolated / "home" / "datasets" / "cifar10"
    assert [p.name for p in folder.iterdir()] == ["cifar10.npz"]  # no extracted leftovers

    def no_extraction(archive, dest):
        raise AssertionError("extracted again")

    monkeypatch.setattr(_files, "safe_extract", no_extraction)
    second = cifar10.load_data()
    for a, b in zip(first[0] + first[1], second[0] + second[1]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("target", [os.system, exec])
def test_malicious_pickle_is_refused(isolated, monkeypatch, target):
    marker = isolated / "pwned"
    command = f"touch {marker}" if target is os.system else f"open({str(marker)!r}, 'w')"

    class Exploit:
        def __reduce__(self):
            return target, (command,)

    buffer = io.BytesIO()
    Py2StylePickler(buffer, protocol=2).dump({b"data": Exploit(), b"labels": []})
    evil = buffer.getvalue()
    _, digest = write_cifar_archive(isolated / "data" / cifar10.ARCHIVE,
                                    replace={"data_batch_1": evil})
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", digest)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    with pytest.raises(pickle.UnpicklingError,
                       match=rf"refusing to load \w+\.{target.__name__} "):
        cifar10.load_data()
    assert not marker.exists()
    assert not (isolated / "home" / "datasets" / "cifar10" / "cifar10.npz").exists()


@pytest.mark.parametrize("member", [
    ("../escaped.txt", b"x"),
    ("/tmp/tinycnn-absolute.txt", b"x"),
    ("cifar-10-batches-py/link", b"", tarfile.SYMTYPE, "../../escaped.txt"),
    ("cifar-10-batches-py/hard", b"", tarfile.LNKTYPE, "/etc/passwd"),
], ids=["dotdot", "absolute", "symlink", "hardlink"])
def test_archive_members_outside_the_target_are_refused(isolated, monkeypatch, member):
    _, digest = write_cifar_archive(isolated / "data" / cifar10.ARCHIVE, extra=[member])
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", digest)
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    with pytest.raises(ValueError, match="refusing unsafe archive member"):
        cifar10.load_data()
    assert not any(p.name.startswith("escaped") for p in isolated.rglob("*"))
    assert not Path("/tmp/tinycnn-absolute.txt").exists()
    assert list((isolated / "home" / "datasets" / "cifar10").iterdir()) == []


def test_cifar10_stand_in_npz_is_used_with_a_warning(isolated, monkeypatch):
    r = np.random.default_rng(0)
    arrays = {"x_train": r.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
              "y_train": r.integers(0, 10, 6, dtype=np.uint8),
              "x_test": r.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8),
              "y_test": r.integers(0, 10, 2, dtype=np.uint8)}
    path = isolated / "data" / cifar10.STAND_IN_FOLDER / cifar10.STAND_IN
    path.parent.mkdir(parents=True)
    np.savez_compressed(path, **arrays)
    monkeypatch.setattr(cifar10, "STAND_IN_MD5", md5_of(path.read_bytes()))
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(isolated / "data"))
    with pytest.warns(UserWarning, match="JPEG-75 stand-in"):
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert y_train.shape == (6, 1) and y_test.shape == (2, 1) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train[:, 0], arrays["y_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    # load_npz keeps the labels as stored.
    assert datasets.load_npz(path)[0][1].shape == (6,)
    # The official archive, when present, wins over the stand-in.
    _, digest = write_cifar_archive(isolated / "data" / cifar10.ARCHIVE)
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", digest)
    assert cifar10.load_data()[0][0].shape == (15, 32, 32, 3)


def test_cifar10_offline_error(isolated):
    with pytest.raises(datasets.DatasetNotFoundError, match=r"cifar-10-python\.tar\.gz"):
        cifar10.load_data()


# --- load_npz and image_folder ------------------------------------------------------------

def test_load_npz_returns_arrays_as_stored_and_names_missing_keys(isolated):
    path = isolated / "arrays.npz"
    x, y = np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.array([[1], [0]])
    np.savez(path, x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
    (x_train, y_train), (x_test, y_test) = datasets.load_npz(path)
    np.testing.assert_array_equal(x_train, x)
    assert y_train.shape == (2, 1) and x_test.shape == (1, 3, 4)
    np.savez(path, x_train=x, y_train=y)
    with pytest.raises(KeyError, match="lacks x_test, y_test"):
        datasets.load_npz(path)


def test_image_folder_loads_one_class_per_subfolder(isolated):
    from PIL import Image

    root = isolated / "pets"
    r = np.random.default_rng(0)
    written = {}
    for cls, count in (("dog", 2), ("cat", 3)):
        (root / cls).mkdir(parents=True)
        for i in range(count):
            pixels = r.integers(0, 256, (5, 4, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / cls / f"{i}.png")
            written[(cls, i)] = pixels
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".ipynb_checkpoints").mkdir()
    x, y, names = datasets.image_folder(root)
    assert names == ["cat", "dog"]
    assert x.shape == (5, 5, 4, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(y, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(x[3], written[("dog", 0)])
    grey, _, _ = datasets.image_folder(root, image_size=(8, 6), color_mode="grayscale")
    assert grey.shape == (5, 8, 6, 1)
    Image.fromarray(np.zeros((7, 7, 3), np.uint8)).save(root / "dog" / "big.png")
    with pytest.raises(ValueError, match="pass image_size"):
        datasets.image_folder(root)


# --- the embedded sample and the real archives -------------------------------------------

def test_embedded_mnist_sample_is_balanced_and_small():
    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    assert x_train.shape == (6000, 28, 28) and y_train.shape == (6000,)
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [600] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert 0 < x_train.mean() < 255 and mnist_sample.PATH.stat().st_size < 2_500_000


needs_shared = pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                                  reason=f"real dataset archives not found at {SHARED}")


@needs_shared
def test_real_mnist_has_the_official_shapes_and_class_counts(isolated, monkeypatch):
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(SHARED))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842,
                                             5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982,
                                            892, 958, 1028, 974, 1009]


@needs_shared
def test_real_fashion_mnist_has_6000_and_1000_per_class(isolated, monkeypatch):
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(SHARED))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


@needs_shared
def test_embedded_sample_is_rebuilt_byte_for_byte_from_the_real_archives(isolated):
    out = isolated / "sample.npz"
    make_sample.main([str(SHARED / "mnist"), "--output", str(out)])
    assert out.read_bytes() == mnist_sample.PATH.read_bytes()


@pytest.mark.skipif(not (SHARED / cifar10.STAND_IN_FOLDER / cifar10.STAND_IN).is_file(),
                    reason=f"CIFAR-10 stand-in not found under {SHARED}")
def test_real_cifar10_stand_in_loads_in_keras_layout(monkeypatch):
    monkeypatch.setenv("TINYCNN_DATA_DIR", str(SHARED))
    with pytest.warns(UserWarning, match="stand-in"):
        (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (50000, 32, 32, 3) and y_train.shape == (50000, 1)
    assert x_test.shape == (10000, 32, 32, 3) and y_test.shape == (10000, 1)
    assert np.bincount(y_train[:, 0]).tolist() == [5000] * 10
    assert np.bincount(y_test[:, 0]).tolist() == [1000] * 10
