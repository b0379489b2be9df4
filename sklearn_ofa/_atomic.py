"""Atomic file output: write a temporary file beside the target, then ``os.replace`` it.

A reader (or a resumed job) sees the old file or the complete new one, never a
partial write; a failed write leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

#: Name prefix of the temporary files (hidden; folder scans skip them).
TMP_PREFIX = ".tmp-"

_UMASK = os.umask(0)
os.umask(_UMASK)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename inside ``folder`` durable (a no-op where unsupported, e.g. Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``.

    The temporary file lies in the target's folder (created if needed) and has
    the permissions a plain new file would get. With ``durable=True`` the file
    and the rename are fsynced, so the new content survives a power loss.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_output(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), len(list(target.parent.iterdir()))
    ('done', 1)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # ".tmp-<name>.<random>": hidden, and tools that read the name (torch's archive
    # name, joblib's compression by extension) see no extension of the target's
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.")
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if durable:
        fsync_dir(path.parent)
