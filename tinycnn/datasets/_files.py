"""Finding, downloading, verifying and caching dataset files.

Where a dataset file is looked for, in order:

1. every folder named in the environment variable ``TINYCNN_DATA_DIR`` (several may be
   joined with ``os.pathsep``), both as ``<dir>/<file>`` and ``<dir>/<dataset>/<file>``;
2. the cache, ``<cache>/<dataset>/<file>``, where ``<cache>`` is the ``cache_dir`` argument,
   else ``$TINYCNN_HOME/datasets``, else ``~/.tinycnn/datasets``;
3. a download from the dataset's canonical URLs into the cache.

Every file is checked against its published MD5 before use. A download goes to a temporary
name and is renamed only once its checksum passes, so a bad or truncated file is never left
in the cache looking like a good one. The parsed arrays are cached as ``<cache>/<dataset>/
<dataset>.npz``; a later load reads that and never touches the archives again.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import urllib.request
import uuid
import warnings
from pathlib import Path

import numpy as np


class ChecksumError(ValueError):
    """A dataset file's MD5 differs from the published one."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset file is not on disk and could not be downloaded."""


def cache_root(cache_dir=None) -> Path:
    """The cache: ``cache_dir``, else ``$TINYCNN_HOME/datasets``, else ``~/.tinycnn/datasets``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    home = os.environ.get("TINYCNN_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".tinycnn") / "datasets"


def data_dirs() -> list[Path]:
    """The folders named by ``TINYCNN_DATA_DIR`` (empty when it is unset)."""
    value = os.environ.get("TINYCNN_DATA_DIR", "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part]


def find_in_data_dirs(dataset: str, filename: str) -> Path | None:
    """``<dir>/<filename>`` or ``<dir>/<dataset>/<filename>`` in the first ``TINYCNN_DATA_DIR``
    folder that holds it, else None."""
    for folder in data_dirs():
        for candidate in (folder / filename, folder / dataset / filename):
            if candidate.is_file():
                return candidate
    return None


def md5(path: Path) -> str:
    """The hex MD5 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, expected_md5: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has MD5 ``expected_md5``."""
    actual = md5(path)
    if actual != expected_md5:
        raise ChecksumError(f"{path} has MD5 {actual}, expected {expected_md5}: the file is "
                            f"corrupt, truncated or not the official one; delete or replace it")


def partial_name(target: Path) -> Path:
    """A fresh temporary name next to ``target``, renamed onto it only once complete."""
    return target.with_name(f"{target.name}.{uuid.uuid4().hex[:12]}.part")


def download(url: str, dest: Path) -> None:
    """Copy ``url`` to the file ``dest`` (urllib only, no retries)."""
    print(f"tinycnn: downloading {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def fetch(dataset: str, filename: str, expected_md5: str, urls: list[str], cache_dir=None) -> Path:
    """The path of a verified copy of ``filename``: found on disk or downloaded into the cache.

    A copy under ``TINYCNN_DATA_DIR`` that fails its checksum is an error (it is the user's
    file, so it is not replaced); a cached copy that fails is deleted and downloaded again.
    """
    local = find_in_data_dirs(dataset, filename)
    if local is not None:
        verify(local, expected_md5)
        return local
    target = cache_root(cache_dir) / dataset / filename
    if target.is_file():
        if md5(target) == expected_md5:
            return target
        warnings.warn(f"{target} fails its MD5 check; downloading it again (the copy stays until a good "
                      "one replaces it)", stacklevel=3)
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        tmp = partial_name(target)
        try:
            download(url, tmp)
            actual = md5(tmp)
            if actual != expected_md5:
                raise ChecksumError(f"{url} sent a file with MD5 {actual}, expected {expected_md5} "
                                    f"(truncated or altered); it was discarded, nothing was cached")
            os.replace(tmp, target)
            return target
        except (OSError, http.client.HTTPException) as err:  # URLError is an OSError
            failures.append(f"{url}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DatasetNotFoundError(
        f"{dataset}: {filename} is not on disk and could not be downloaded "
        f"({'; '.join(failures)}). Download it from {urls[0]} and place it at {target}, "
        f"or at <dir>/{filename} or <dir>/{dataset}/{filename} with TINYCNN_DATA_DIR=<dir>.")


def cached_arrays_path(dataset: str, cache_dir=None) -> Path:
    """Where the parsed arrays of ``dataset`` are cached: ``<cache>/<dataset>/<dataset>.npz``."""
    return cache_root(cache_dir) / dataset / f"{dataset}.npz"


def load_cached(dataset: str, sample_shape: tuple, cache_dir=None):
    """``((x_train, y_train), (x_test, y_test))`` from the cache, or None when not cached or
    when the cached file is damaged or does not hold uint8 images of ``sample_shape`` with
    one label each (then a warning names the file, and the dataset is parsed again)."""
    path = cached_arrays_path(dataset, cache_dir)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except Exception as err:  # noqa: BLE001  (any damage: bad zip, missing key, pickled object)
        problem = f"cannot be read ({type(err).__name__}: {err})"
    else:
        problem = next((f"holds x {x.shape} {x.dtype} and y {y.shape}, not uint8 images of shape "
                        f"{sample_shape} with one label each" for x, y in arrays
                        if x.shape[1:] != tuple(sample_shape) or x.dtype != np.uint8 or len(y) != len(x)), None)
        if problem is None:
            return arrays
    warnings.warn(f"the cached {dataset} arrays {path} {problem}; parsing the dataset again", stacklevel=3)
    return None


def save_cached(dataset: str, arrays, cache_dir=None) -> None:
    """Write the parsed arrays to the cache atomically; warn (do not fail) if it is not writable."""
    (x_train, y_train), (x_test, y_test) = arrays
    path = cached_arrays_path(dataset, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = partial_name(path)
        try:
            with open(tmp, "xb") as f:
                np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        warnings.warn(f"could not cache {dataset} at {path} ({err}); it will be parsed again "
                      f"next time", stacklevel=3)


def safe_extract(archive: Path, dest: Path) -> None:
    """Extract a tar archive into ``dest``, refusing any member that could land outside it.

    Only regular files and folders are allowed: absolute names, ``..`` components, links and
    device files raise ``ValueError`` before anything is written.
    """
    root = dest.resolve()
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            target = (root / m.name).resolve()
            if (not (m.isfile() or m.isdir()) or os.path.isabs(m.name) or ".." in Path(m.name).parts
                    or not target.is_relative_to(root)):
                raise ValueError(f"{archive.name}: refusing unsafe archive member {m.name!r} "
                                 f"(only plain files inside the archive's folder are allowed)")
        # Python >= 3.12 warns without a filter; "data" repeats the checks above.
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(root, members=members, **extra)
