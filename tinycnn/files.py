"""Writing files so that a failure never loses data: every save goes through :func:`atomic_write`.

The new content is written to a temporary file in the target's folder, under a name no
other writer (thread or process) uses, flushed to disk, given the mode a new file gets
under the umask (as ``open()`` would), and only then moved over the target with
``os.replace``, which is atomic: readers see the old file or the new one, never a part.
A save that fails (full disk, an exception, Ctrl-C) removes its temporary file and leaves
the old file as it was; a save killed outright leaves its temporary behind, named
``.tmp-<target name>-<random>``, which the next save of the same target removes. Saving
through a symbolic link writes the file the link points to and keeps the link.
"""
from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time

STALE_SECONDS = 60  # a temporary of the same target older than this is a dead writer's


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path):
    """``with atomic_write(path) as tmp: write(tmp)``: ``path`` gets the file written to
    ``tmp`` once the block has finished without an error."""
    path = os.path.realpath(os.fspath(path))   # through a symlink: its target
    folder, name = os.path.split(path)
    os.makedirs(folder, exist_ok=True)
    prefix = f".tmp-{name}-"
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*")):
        with contextlib.suppress(OSError):
            if time.time() - os.path.getmtime(stale) > STALE_SECONDS:
                os.remove(stale)
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
