"""Bytes in and out of the executor's filesystem: files and whole trees, in bounded chunks.

Both ends of the protocol and the ``local`` runtime use these, so a read, a write, an upload and
a download mean the same everywhere:

- errors keep their kind and name the path: ``PathNotFound`` is a ``FileNotFoundError``,
  ``PathPermissionDenied`` a ``PermissionError``, ``PathIsADirectory`` an ``IsADirectoryError``;
  a read over its limit is ``FileTooLarge``, never a silent cut;
- a write honours the target: a read-only file is refused (even for root, as a user would
  expect, rather than replaced through a rename), a file with other hard links is rewritten in
  place so every link sees the new content, any other file is replaced atomically with its mode
  kept; parents are created;
- a directory travels as a tar stream (modes kept; the ``tar`` extraction filter refuses
  absolute paths and links out of the destination), produced and consumed by a thread through a
  bounded queue or a pipe, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import errno
import os
import queue
import stat
import tarfile
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Optional, Union

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
#: Chunks a tree stream may have produced ahead of its consumer.
QUEUE_CHUNKS = 8

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


def _stat_target(path: Path) -> Optional[os.stat_result]:
    """What a write would replace (None when nothing is there yet), an unreadable one as a transfer error."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise transfer_error(exc, path, "write") from None


def write_all(chunks: Iterable[bytes], sink: Union[FileWriter, TreeWriter]) -> None:
    """Feed every chunk to ``sink`` and commit it; on any failure the sink is aborted, the target untouched."""
    try:
        for chunk in chunks:
            sink.write(chunk)
    except BaseException:
        sink.abort()
        raise
    sink.commit()


class FileWriter:
    """Writes one file from chunks; ``commit`` makes it visible, ``abort`` leaves the target untouched."""

    def __init__(self, path: Path, mode: Optional[int] = None) -> None:
        self.path = path
        info = _stat_target(path)
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


# -- trees ------------------------------------------------------------------------------------


class _QueueWriter:
    """A file object whose writes become chunks on a bounded queue."""

    def __init__(self, chunks: queue.Queue[object]) -> None:
        self.chunks = chunks
        self.pending = bytearray()

    def write(self, data: bytes) -> int:
        self.pending += data
        if len(self.pending) >= CHUNK_SIZE:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.pending:
            self.chunks.put(bytes(self.pending))
            self.pending = bytearray()


def tree_chunks(path: Path) -> Iterator[bytes]:
    """A directory's content (not the directory itself) as a tar stream, in chunks."""
    info = stat_path(path)
    if not stat.S_ISDIR(info.st_mode):
        raise PathNotADirectory(errno.ENOTDIR, f"cannot pack {path}: it is not a directory")
    chunks: queue.Queue[object] = queue.Queue(maxsize=QUEUE_CHUNKS)
    done = object()

    def produce() -> None:
        writer = _QueueWriter(chunks)
        try:
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for entry in sorted(os.listdir(path)):
                    tar.add(path / entry, arcname=entry)
            writer.flush()
            chunks.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            chunks.put(exc if isinstance(exc, OSError) else OSError(str(exc)))

    threading.Thread(target=produce, daemon=True, name="tree-pack").start()
    while (item := chunks.get()) is not done:
        if isinstance(item, OSError):
            raise transfer_error(item, getattr(item, "filename", None) or path, "pack")
        assert isinstance(item, bytes)
        yield item


class TreeWriter:
    """Unpacks a tar stream fed in chunks into a directory (created if missing), with a thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        info = _stat_target(path)
        if info is not None and not stat.S_ISDIR(info.st_mode):
            raise PathNotADirectory(errno.ENOTDIR, f"cannot unpack into {path}: it is not a directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise transfer_error(exc, path, "write") from None
        read_end, self.fd = os.pipe()
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._unpack, args=(read_end,), daemon=True, name="tree-unpack")
        self.thread.start()

    def _unpack(self, read_end: int) -> None:
        with os.fdopen(read_end, "rb") as source:
            try:
                with tarfile.open(fileobj=source, mode="r|") as tar:
                    tar.extractall(self.path, filter="tar")
            except BaseException as exc:  # noqa: BLE001 - reported by commit()
                self.error = exc
                source.read()  # drain, so the writer never blocks on a pipe nobody reads

    def write(self, data: bytes) -> None:
        try:
            _write_all(self.fd, data)
        except OSError:
            pass  # the unpacker stopped; commit() says why

    def commit(self) -> None:
        os.close(self.fd)
        self.thread.join()
        if self.error is not None:
            error = self.error
            if isinstance(error, OSError):
                raise transfer_error(error, getattr(error, "filename", None) or self.path, "unpack into") from None
            raise FileTransferError(f"cannot unpack into {self.path}: {type(error).__name__}: {error}")

    def abort(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
        self.thread.join(timeout=5)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def copy(source: Path, dest: Path) -> None:
    """A file to ``dest``, or a directory's content into ``dest``, with the semantics of a transfer."""
    info = stat_path(source)
    if stat.S_ISDIR(info.st_mode):
        sink: Union[FileWriter, TreeWriter] = TreeWriter(dest)
        chunks = tree_chunks(source)
    else:
        sink = FileWriter(dest, stat.S_IMODE(info.st_mode))
        chunks = read_chunks(source)
    write_all(chunks, sink)
