"""The client's half of file transfers over the stdio protocol (see ``protocol``'s module doc).

Uploads read the local file or pack the local tree chunk by chunk and send each as a raw frame
as it is made, with no answer awaited per chunk; downloads write each chunk as it arrives,
unpacking a tree through ``transfer.TreeWriter``; so neither side ever holds more than a few
chunks. A sender that fails midway aborts the write: a file's target keeps its old content.
Server errors come back as the same classes (``PathNotFound`` is a ``FileNotFoundError``...).
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import RuntimeFailure
from agentexec.protocol import (
    ChunkMessage,
    ChunkRequest,
    ErrorMessage,
    FileMessage,
    OkMessage,
    ReadFileRequest,
    WriteFileRequest,
    raise_error,
)
from agentexec.runtimes.connection import Connection
from agentexec.transfer import FileWriter, TreeWriter, read_chunks, transfer_error, tree_chunks, write_all


def send_chunks(
    connection: Connection, remote: str, chunks: Iterable[bytes], timeout: float, *, tree: bool, mode: Optional[int]
) -> None:
    """Write ``chunks`` to ``remote`` (a file, or with ``tree`` a directory to unpack into)."""
    request_id = connection.send(WriteFileRequest, type="write_file", path=remote, tree=tree, mode=mode)
    try:
        for chunk in chunks:
            early = connection.poll(request_id)
            if early is not None:
                _answer(early, remote)
            connection.send(ChunkRequest, request_id, payload=chunk, type="chunk", size=len(chunk))
    except BaseException:
        try:  # the server drops the write; a file's target keeps its old content
            connection.send(ChunkRequest, request_id, type="chunk", abort=True)
        finally:
            connection.forget(request_id)
        raise
    connection.send(ChunkRequest, request_id, type="chunk", last=True)
    _answer(_wait(connection, request_id, timeout, remote), remote)


def receive_chunks(
    connection: Connection, remote: str, timeout: float, limit: Optional[int], tree: bool = False
) -> tuple[FileMessage, Iterator[bytes]]:
    """Start reading ``remote``: what it is (kind ``file`` or ``tree``, mode) and its chunks as they arrive."""
    request_id = connection.send(ReadFileRequest, type="read_file", path=remote, limit=limit, tree=tree)
    first = _wait(connection, request_id, timeout, remote)
    if not isinstance(first, FileMessage):
        connection.forget(request_id)
        _answer(first, remote)
        raise RuntimeFailure(f"the executor server answered read_file {remote} with {type(first).__name__}")

    def chunks() -> Iterator[bytes]:
        try:
            while True:
                message = _wait(connection, request_id, timeout, remote)
                if isinstance(message, ChunkMessage):
                    yield message.data
                elif isinstance(message, OkMessage):
                    return
                else:
                    _answer(message, remote)
        finally:
            connection.forget(request_id)

    return first, chunks()


def read_file(connection: Connection, remote: str, timeout: float, limit: Optional[int]) -> bytes:
    found, chunks = receive_chunks(connection, remote, timeout, limit)
    if found.kind == "tree":
        for _ in chunks:
            pass
        raise transfer_error(IsADirectoryError(21, "Is a directory"), remote, "read")
    return b"".join(chunks)


def upload(connection: Connection, local: Path, remote: str, timeout: float) -> None:
    """Copy a local file or directory to ``remote`` (a directory's content goes into ``remote``)."""
    try:
        info = local.stat()
    except OSError as exc:
        raise transfer_error(exc, local, "upload") from None
    if stat.S_ISDIR(info.st_mode):
        send_chunks(connection, remote, tree_chunks(local), timeout, tree=True, mode=None)
    else:
        send_chunks(connection, remote, read_chunks(local), timeout, tree=False, mode=stat.S_IMODE(info.st_mode))


def download(connection: Connection, remote: str, local: Path, timeout: float) -> None:
    """Copy ``remote`` (a file or a directory's content) to ``local``."""
    found, chunks = receive_chunks(connection, remote, timeout, None, tree=True)
    write_all(chunks, TreeWriter(local) if found.kind == "tree" else FileWriter(local, found.mode))


def _wait(connection: Connection, request_id: int, timeout: float, remote: str) -> Any:
    message = connection.receive(request_id, timeout)
    if message is None:
        raise RuntimeFailure(connection.describe_death(f"the executor server died while transferring {remote}"))
    return message


def _answer(message: Any, remote: str) -> None:
    """Raise for an error answer; accept ``ok``."""
    if isinstance(message, ErrorMessage):
        raise_error(message)
    if not isinstance(message, OkMessage):
        raise RuntimeFailure(f"unexpected {type(message).__name__} while transferring {remote}")
