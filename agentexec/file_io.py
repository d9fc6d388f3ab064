"""Bytes in and out of one file, with errors that keep their kind and name the path.

The file half of ``transfer`` (which adds directories and re-exports these): reads in bounded
chunks with a size limit that is an error, and writes that honour the target (a read-only file
is refused, hard links are rewritten in place, anything else is replaced atomically).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

from agentexec.errors import (
    FileTooLarge,
    FileTransferError,
    PathIsADirectory,
    PathNotADirectory,
    PathNotFound,
    PathPermissionDenied,
)

#: Bytes per protocol chunk: big enough that per-message costs vanish, small enough to stay bounded.
CHUNK_SIZE = 1 << 20

_KINDS: dict[int, type[FileTransferError]] = {
    errno.ENOENT: PathNotFound,
    errno.EACCES: PathPermissionDenied,
    errno.EPERM: PathPermissionDenied,
    errno.EROFS: PathPermissionDenied,
    errno.EISDIR: PathIsADirectory,
    errno.ENOTDIR: PathNotADirectory,
}


def transfer_error(exc: OSError, path: Path | str, doing: str) -> FileTransferError:
    """``exc`` as the agentexec error of its kind, saying what was done to which path."""
    if isinstance(exc, FileTransferError):
        return exc
    kind = _KINDS.get(exc.errno or 0, FileTransferError)
    reason = exc.strerror or str(exc)
    if kind is PathIsADirectory:
        reason = "it is a directory"
    return kind(exc.errno or 0, f"cannot {doing} {path}: {reason}")


def stat_path(path: Path) -> os.stat_result:
    try:
        return path.stat()
    except OSError as exc:
        raise transfer_error(exc, path, "read") from None


def read_chunks(path: Path, limit: Optional[int] = None) -> Iterator[bytes]:
    """A regular file's bytes in chunks; ``FileTooLarge`` before anything is read when over ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise transfer_error(exc, path, "read") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PathIsADirectory(errno.EISDIR, f"cannot read {path}: it is a directory")
        if limit is not None and info.st_size > limit:
            raise FileTooLarge(errno.EFBIG, f"cannot read {path}: its {info.st_size} bytes exceed the limit of {limit}")
    except BaseException:
        os.close(fd)
        raise
    return _chunks_of(fd, path, limit)


def _chunks_of(fd: int, path: Path, limit: Optional[int]) -> Iterator[bytes]:
    try:
        total = 0
        while chunk := os.read(fd, CHUNK_SIZE):
            total += len(chunk)
            if limit is not None and total > limit:  # it grew while being read
                raise FileTooLarge(errno.EFBIG, f"cannot read {path}: it exceeds the limit of {limit} bytes")
            yield chunk
    finally:
        os.close(fd)


def read_bytes(path: Path, limit: Optional[int] = None) -> bytes:
    return b"".join(read_chunks(path, limit))


def stat_target(path: Path) -> Optional[os.stat_result]:
    """What a write would replace (None when nothing is there yet), an unreadable one as a transfer error."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise transfer_error(exc, path, "write") from None


class FileWriter:
    """Writes one file from chunks; ``commit`` makes it visible, ``abort`` leaves the target untouched."""

    def __init__(self, path: Path, mode: Optional[int] = None) -> None:
        self.path = path
        info = stat_target(path)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise PathIsADirectory(errno.EISDIR, f"cannot write {path}: it is a directory")
        if info is not None and not info.st_mode & 0o222:
            raise PathPermissionDenied(errno.EACCES, f"cannot write {path}: the file is read-only")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.in_place = info is not None and (info.st_nlink > 1 or not stat.S_ISREG(info.st_mode))
            if self.in_place:  # hard links (and devices, fifos) keep their identity
                self.fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
                self.tmp: Optional[str] = None
            else:
                self.fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
                if info is not None:
                    os.fchmod(self.fd, stat.S_IMODE(info.st_mode))
                else:
                    os.fchmod(self.fd, mode if mode is not None else new_file_mode())
        except OSError as exc:
            raise transfer_error(exc, path, "write") from None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as exc:
            self.abort()
            raise transfer_error(exc, self.path, "write") from None

    def commit(self) -> None:
        try:
            os.close(self.fd)
            if self.tmp is not None:
                os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise transfer_error(exc, self.path, "write") from None

    def abort(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        if self.tmp is not None:
            Path(self.tmp).unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes, mode: Optional[int] = None) -> None:
    writer = FileWriter(path, mode)
    writer.write(data)
    writer.commit()


def new_file_mode() -> int:
    """The mode ``open()`` would give a new file under the current umask (read from /proc: no race)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = 0o022
    return 0o666 & ~umask
