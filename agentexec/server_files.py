"""The server's half of file transfers: ``read_file`` streams out, ``write_file`` chunks stream in.

A read runs in a thread of its own and writes its chunks, raw frames, as the client drains them
(the pipe's back-pressure bounds memory); a write's chunks are written where they arrive, in the
request loop, so nothing waits for a running action. A failed write is answered at once and its
remaining chunks are dropped; one the client aborts leaves its target as it was.
"""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Optional, Union

from agentexec.errors import EventFormatError, FileTransferError
from agentexec.protocol import ChunkRequest, ReadFileRequest, WriteFileRequest, error_response, response
from agentexec.transfer import FileWriter, TreeWriter, read_chunks, stat_path, transfer_error, tree_chunks

log = logging.getLogger("agentexec.server")

Sink = Union[FileWriter, TreeWriter]


class FileService:
    """File requests of one server; ``send`` writes a response line, ``resolve`` maps a request's path."""

    def __init__(self, send: Callable[[bytes, bytes], None], resolve: Callable[[str], Path]) -> None:
        self.send = send
        self.resolve = resolve
        self._writes: dict[Optional[int], Sink] = {}
        self._failed: set[Optional[int]] = set()
        self._lock = threading.Lock()

    def read(self, request: ReadFileRequest) -> None:
        threading.Thread(target=self._stream, args=(request,), name="read-file", daemon=True).start()

    def _stream(self, request: ReadFileRequest) -> None:
        path = self.resolve(request.path)
        try:
            info = stat_path(path)
            is_tree = request.tree and path.is_dir()
            chunks = tree_chunks(path) if is_tree else read_chunks(path, request.limit)
            kind = "tree" if is_tree else "file"
            mode = stat.S_IMODE(info.st_mode)
            self.send(response("file", request.id, kind=kind, size=info.st_size, mode=mode), b"")
            for chunk in chunks:
                self.send(response("chunk", request.id, size=len(chunk)), chunk)
        except OSError as exc:
            self.send(error_response(transfer_error(exc, path, "read"), request.id), b"")
            return
        self.send(response("ok", request.id), b"")

    def open_write(self, request: WriteFileRequest) -> None:
        path = self.resolve(request.path)
        try:
            sink: Sink = TreeWriter(path) if request.tree else FileWriter(path, request.mode)
        except FileTransferError as exc:
            self._failed.add(request.id)
            self.send(error_response(exc, request.id), b"")
            return
        with self._lock:
            self._writes[request.id] = sink

    def chunk(self, request: ChunkRequest, payload: bytes) -> None:
        """Write ``payload`` (the chunk's raw bytes) to its open write; ``last`` commits, ``abort`` drops it."""
        ends = request.last or request.abort
        if request.id in self._failed:
            if ends:
                self._failed.discard(request.id)
            return
        sink = self._writes.get(request.id)
        if sink is None:
            raise EventFormatError(f"chunk for request {request.id}, which is no open write_file")
        try:
            if payload:
                sink.write(payload)
            if request.abort:
                del self._writes[request.id]
                sink.abort()
                self.send(response("ok", request.id), b"")
            elif request.last:
                del self._writes[request.id]
                sink.commit()
                self.send(response("ok", request.id), b"")
        except FileTransferError as exc:
            self._writes.pop(request.id, None)
            sink.abort()
            if not ends:
                self._failed.add(request.id)
            self.send(error_response(exc, request.id), b"")

    def close(self) -> None:
        """Abandon unfinished writes: their targets are left as they were."""
        with self._lock:
            sinks, self._writes = list(self._writes.values()), {}
        for sink in sinks:
            sink.abort()
