"""One running ``agentexec serve --stdio`` process, as the client sees it: requests out, messages routed back.

Two reader threads drain the server's stdout (parsed and routed to a queue per request, so
several requests may be in flight from several threads) and stderr (its last lines kept for
error messages), so the server never blocks on a full pipe and each caller waits on its own
queue with a timeout. ``RemoteRuntime`` builds actions and file transfers on top of it.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from typing import Any, Optional

from pydantic import BaseModel

from agentexec.errors import EventFormatError, RuntimeFailure
from agentexec.protocol import (
    RESPONSE,
    AliveMessage,
    ChunkMessage,
    CloseRequest,
    ErrorMessage,
    FileMessage,
    OutputMessage,
    decode,
    encode,
    frame_size,
    read_exact,
)

log = logging.getLogger("agentexec.runtimes.connection")

STDERR_LINES = 20
#: Chunks of a download held for its reader before the reader thread waits (each up to transfer.CHUNK_SIZE).
QUEUED_CHUNKS = 8
_EOF = None


class ServerHung(RuntimeFailure, TimeoutError):
    """The server sent nothing, not even a heartbeat, for ``response_timeout`` seconds."""


class Connection:
    """One running server process and the threads that read it."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the server only as a request
        )
        self.routes: dict[int, queue.Queue[Any]] = {}
        self._ended = False
        self.stderr_tail: deque[str] = deque(maxlen=STDERR_LINES)
        self._write_lock = threading.Lock()  # one request (and its frame) at a time onto stdin
        # The routes have a lock of their own: the reader thread must route responses while a
        # sender blocks on a full stdin pipe, or a server answering meanwhile would wait forever.
        self._routes_lock = threading.Lock()
        self._next_id = 0
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True, name="server-stdout"),
            threading.Thread(target=self._read_stderr, daemon=True, name="server-stderr"),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        for line in stdout:
            try:
                message = decode(line, RESPONSE)
                if isinstance(message, ChunkMessage):  # a frame: its raw bytes follow the line
                    message.data = read_exact(stdout, message.size)
            except EventFormatError as exc:
                stdout.read(frame_size(line))
                log.info("executor server wrote a line that is not a protocol message: %s", exc)
                self.stderr_tail.append(f"[stdout, not protocol] {line.decode('utf-8', 'replace').rstrip()}")
                continue
            with self._routes_lock:
                if message.id is None:  # an error about no particular request: every waiter hears it
                    targets = list(self.routes.values()) if isinstance(message, ErrorMessage) else []
                else:
                    route = self.routes.get(message.id)
                    targets = [route] if route is not None else []  # stale: nobody waits for it any more
            if isinstance(message, ChunkMessage) and targets:
                self._wait_for_room(message.id, targets[0])
            for target in targets:
                target.put(message)
        with self._routes_lock:
            self._ended = True
            targets = list(self.routes.values())
        for target in targets:
            target.put(_EOF)

    def _wait_for_room(self, request_id: Optional[int], route: queue.Queue[Any]) -> None:
        """Hold a download's next chunk until its reader has taken the earlier ones (or given up),
        so the server's pipe, not this process's memory, absorbs a slow consumer."""
        while request_id is not None and route.qsize() >= QUEUED_CHUNKS and self.routes.get(request_id) is route:
            time.sleep(0.001)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr_tail.append(line)
            log.debug("server: %s", line)

    def send(self, make: Any, request_id: Optional[int] = None, payload: bytes = b"", **fields: Any) -> int:
        """Send a request built by ``make(type=..., id=..., **fields)``; return its id.

        A new request gets a fresh id and a queue its responses are routed to; a ``chunk`` of a
        write reuses its ``write_file``'s ``request_id`` and carries its raw bytes as ``payload``.
        """
        with self._routes_lock:
            if request_id is None:
                self._next_id += 1
                request_id = self._next_id
                route: queue.Queue[Any] = queue.Queue()
                self.routes[request_id] = route
                if self._ended:
                    route.put(_EOF)
        request: BaseModel = make(id=request_id, **fields)
        with self._write_lock:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(encode(request))
                if payload:
                    self.process.stdin.write(payload)
                self.process.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                raise RuntimeFailure(self.describe_death("the executor server stopped reading requests")) from None
            return request_id

    def receive(self, request_id: int, timeout: float) -> Any:
        """The next message for ``request_id``; ``None`` at EOF. A final answer ends its route."""
        route = self.routes.get(request_id)
        if route is None:
            return None
        try:
            message = route.get(timeout=timeout)
        except queue.Empty:
            raise ServerHung(f"the executor server sent nothing for {timeout:g} s") from None
        if message is _EOF:
            route.put(_EOF)  # every later wait sees the end too
            return None
        if not isinstance(message, (OutputMessage, AliveMessage, ChunkMessage, FileMessage)):
            self.forget(request_id)
        return message

    def poll(self, request_id: int) -> Any:
        """A message already waiting for ``request_id`` (an early write error), else ``None``."""
        route = self.routes.get(request_id)
        if route is None or route.empty():
            return None
        return self.receive(request_id, 0.0)

    def forget(self, request_id: int) -> None:
        """Stop routing responses to ``request_id`` (answered, or its caller gave up)."""
        with self._routes_lock:
            self.routes.pop(request_id, None)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def describe_death(self, what: str) -> str:
        """``what``, how the process ended, and its last stderr lines."""
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            status = "still running"
        elif code < 0:
            status = f"killed by {signal.Signals(-code).name}"
        else:
            status = f"exit status {code}"
        for thread in self._threads:
            thread.join(timeout=1)
        tail = "\n".join(self.stderr_tail) or "(nothing)"
        return f"{what} ({status}); its last stderr lines:\n{tail}"

    def last_error_line(self) -> str:
        """The last non-empty stderr line: where a launcher (docker, ssh) says why it gave up."""
        said = [line.strip() for line in self.stderr_tail if line.strip() and not line.startswith("Run '")]
        return said[-1] if said else "no error output"  # docker ends with "Run 'docker run --help' ..."

    def kill(self) -> None:
        """Kill the launcher's whole process group (bwrap, docker or ssh clients included)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()

    def close(self, timeout: float) -> None:
        """Ask the server to close, give it ``timeout`` seconds, then kill it."""
        if self.alive:
            try:
                request_id = self.send(CloseRequest, type="close")
                deadline = time.monotonic() + timeout
                while self.receive(request_id, max(0.01, deadline - time.monotonic())) is not None:
                    pass
            except RuntimeFailure:
                pass
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
