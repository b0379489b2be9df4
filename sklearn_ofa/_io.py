"""Crash-safe file output: atomic files and folders, and one append-only journal.

:func:`atomic_output` and :func:`atomic_folder` write beside the target, then
rename: a reader (or a resumed job) sees the old content or the complete new
one, never a partial write, and a failed write leaves no temporary behind.
:class:`Journal` is the record log of a long build (LUT profiling, accuracy
datasets): every record is one fsynced JSON line, so a kill loses at most the
line being written, which a reader skips.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["TMP_PREFIX", "Journal", "atomic_folder", "atomic_output", "fsync_dir"]

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


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it is renamed to ``path``.

    The temporary folder is a hidden sibling of ``path`` (same file system, so
    the rename is atomic). A reader sees no folder, the old folder or the
    complete new one, never a half-written one; a failure removes the
    temporary folder and leaves ``path`` as it was.

    An existing ``path`` is replaced as a whole with ``replace=True`` (it is
    renamed aside, the new folder renamed in, then the old one deleted; if the
    second rename fails the old folder is put back). With ``replace=False`` an
    existing non-empty ``path`` raises :class:`FileExistsError` before anything
    is written.

    Parameters
    ----------
    path : path
        The folder to create or replace. Its parent is created if needed.
    replace : bool, default=True
        Whether an existing folder may be replaced.

    Yields
    ------
    Path
        The temporary folder (empty, with the permissions a plain new folder gets).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "tables"
    >>> with atomic_folder(target) as tmp:
    ...     _ = (tmp / "a.yaml").write_text("x: 1")
    ...     _ = (tmp / "b.yaml").write_text("y: 2")
    >>> sorted(p.name for p in target.iterdir())
    ['a.yaml', 'b.yaml']
    >>> len(list(target.parent.iterdir()))  # no temporary folder left behind
    1
    """
    import shutil

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(20, "exists and is not a folder", str(path))
    if not replace and path.is_dir() and any(path.iterdir()):
        raise FileExistsError(17, "folder exists and is not empty", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}."))
    try:
        os.chmod(tmp, 0o777 & ~_UMASK)
        yield tmp
        old = None
        if path.is_dir():
            try:
                os.rename(tmp, path)  # POSIX replaces an empty folder atomically
            except OSError:
                if not replace:
                    raise FileExistsError(17, "folder exists and is not empty", str(path)) from None
                old = Path(
                    tempfile.mkdtemp(dir=path.parent, prefix=f"{TMP_PREFIX}{path.name}.old.")
                )
                os.rename(path, old / "d")
                try:
                    os.rename(tmp, path)
                except BaseException:
                    os.rename(old / "d", path)
                    raise
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(path.parent)


class Journal:
    """An append-only, crash-safe log of JSON records, one fsynced line each.

    :meth:`append` writes one JSON line and fsyncs it, so a record is on disk
    once it returns; a process killed mid-write leaves at most a torn last
    line (no final newline). :meth:`read` returns the complete lines only and
    skips that torn tail; the next :meth:`append` first cuts it off, so the
    file stays one valid record per line. A complete line that is not JSON is
    corruption, not a kill, and raises :class:`ValueError`.

    Parameters
    ----------
    path : path
        The journal file (created, with its folder, by the first :meth:`append`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> with Journal(path) as journal:
    ...     journal.append({"key": "a", "ms": 1.5})
    ...     journal.append(["b", 2.0])
    >>> _ = open(path, "a").write('{"key": "c", "m')  # a kill in the middle of a write
    >>> Journal(path).read()
    [(1, {'key': 'a', 'ms': 1.5}), (2, ['b', 2.0])]
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def read(self) -> list[tuple[int, Any]]:
        """The records of the complete lines, as ``(line number, record)`` pairs.

        Returns
        -------
        list of (int, object)
            Empty when the file does not exist. Blank lines are skipped.

        Raises
        ------
        ValueError
            A complete line is not valid JSON (the message names the file and line).
        """
        if not self.path.exists():
            return []
        # what follows the last newline is empty or a torn write
        lines = self.path.read_bytes().split(b"\n")[:-1]
        out = []
        for no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                out.append((no, json.loads(line)))
            except ValueError:  # JSONDecodeError and UnicodeDecodeError
                raise ValueError(f"{self.path}, line {no}: not valid JSON: {line[:80]!r}") from None
        return out

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        if not created:
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):  # cut a torn tail: the next record starts a line
                os.truncate(self.path, data.rfind(b"\n") + 1)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if created:
            fsync_dir(self.path.parent)
        return fd

    def append(self, record: Any) -> None:
        """Write ``record`` as one JSON line and fsync it.

        Parameters
        ----------
        record : JSON-serialisable object
        """
        line = (json.dumps(record) + "\n").encode()
        if self._fd is None:
            self._fd = self._open()
        os.write(self._fd, line)
        os.fsync(self._fd)

    def close(self) -> None:
        """Close the file (a later :meth:`append` reopens it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
