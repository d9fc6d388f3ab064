"""The client half of the stdio protocol, shared by every runtime whose executor lives elsewhere.

A launcher runtime (``process``, ``sandbox``, ``docker``, ``ssh``) only says which command starts
``agentexec serve --stdio`` with the given arguments; everything else is here: the hello
exchange, requests and responses, streamed output, interrupts, failure handling and restarts.

Two reader threads drain the server's stdout (parsed and routed to a queue per request, so
several requests may be in flight from several threads) and stderr (its last lines kept for
error messages), so the server never blocks on a full pipe and each caller waits on its own
queue with a timeout. The server sends a heartbeat while a long action is silent;
``response_timeout`` seconds without any message means the server is hung, and it is killed.
A server that dies or hangs mid-action yields an error observation naming the exit status and
its last stderr lines; with ``restart = true`` the next action starts a fresh server.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from abc import abstractmethod
from collections import deque
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel

from agentexec.errors import EventFormatError, RuntimeFailure, RuntimeStartError
from agentexec.events import Action, Observation, as_action, error, from_dict, to_dict
from agentexec.protocol import (
    RESPONSE,
    AliveMessage,
    ChunkMessage,
    CloseRequest,
    ErrorMessage,
    ExecuteRequest,
    FileMessage,
    HelloRequest,
    HelloResponse,
    InterruptRequest,
    OutputMessage,
    ResultMessage,
    decode,
    encode,
    frame_size,
    raise_error,
    read_exact,
)
from agentexec.runtimes.base import OutputCallback, Runtime

log = logging.getLogger("agentexec.runtimes.remote")

STDERR_LINES = 20
#: Bound on start-up (imports, bwrap, an ssh handshake, a container start), however short response_timeout is.
START_TIMEOUT = 120.0
#: Chunks of a download held for its reader before the reader thread waits (each up to transfer.CHUNK_SIZE).
QUEUED_CHUNKS = 8
_EOF = None


def user_module_path(executor_path: str) -> Optional[Path]:
    """What to carry to the other side for a custom executor that is not installed there.

    ``ops:OpsExecutor`` from ``./ops.py`` gives that file's absolute path (a package gives its
    directory); an executor installed in site-packages, agentexec's own included, gives None: the
    remote side must have it installed already. Raises ``ClassLoadError`` when it does not load here.
    """
    from agentexec.executors.base import BaseActionExecutor
    from agentexec.loading import load_class

    cls = load_class(executor_path, "executor", BaseActionExecutor)
    top = sys.modules[cls.__module__.partition(".")[0]]
    file = getattr(top, "__file__", None)
    if top.__name__ == "agentexec" or not file:
        return None
    path = Path(file).resolve()
    roots = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    if any(path.is_relative_to(root) for root in roots):
        return None
    package_dirs = getattr(top, "__path__", None)
    return Path(next(iter(package_dirs))).resolve() if package_dirs else path


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


class RemoteRuntime(Runtime):
    """A runtime whose executor is an ``agentexec serve --stdio`` process started by a launcher.

    Args:
        restart: start a fresh server for the next action after one died or hung.
        response_timeout: seconds without any message from the server (it sends a heartbeat
            while an action runs) before it counts as hung and is killed.
        import_paths: directories made importable in the server (``--import-path``), for
            executor modules that are not installed there.
    """

    def __init__(
        self,
        *,
        restart: bool = False,
        response_timeout: float = 30.0,
        import_paths: Optional[list[str]] = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.restart = restart
        self.response_timeout = float(response_timeout)
        self.import_paths = [str(p) for p in import_paths or []]
        self.connection: Optional[Connection] = None
        self.hello: Optional[HelloResponse] = None
        self._dead: Optional[str] = None  # why the last server ended, until one is started again
        self._unfinished: Optional[int] = None  # an action the caller stopped waiting for (Ctrl-C)

    # -- what a launcher provides ----------------------------------------------------------

    @abstractmethod
    def command(self, serve_args: list[str]) -> list[str]:
        """The command line that runs ``agentexec`` with ``serve_args`` where the executor lives."""

    def server_import_paths(self) -> list[str]:
        """Directories passed as ``--import-path``; launchers on this machine add the user's own."""
        return list(self.import_paths)

    def after_kill(self) -> None:
        """Clean up what killing the launcher leaves behind (a container, for ``docker``)."""

    def serve_args(self) -> list[str]:
        args = ["serve", "--stdio", "--executor", self.executor_path, "--workspace", str(self.workspace)]
        for path in self.server_import_paths():
            args += ["--import-path", path]
        return args

    # -- the Runtime interface -------------------------------------------------------------

    def start(self) -> None:
        if self.connection is not None and self.connection.alive:
            return
        command = self.command(self.serve_args())
        log.info("starting executor server: %s", " ".join(command))
        try:
            connection = Connection(command)
        except OSError as exc:
            raise RuntimeStartError(
                f"cannot start the executor server with {command[0]!r}: {exc.strerror or exc}; "
                f"install it or set the runtime's executable in [runtime]"
            ) from None
        self.connection = connection
        heartbeat = max(0.05, min(5.0, self.response_timeout / 3))
        try:
            request_id = connection.send(
                HelloRequest,
                type="hello",
                env=self.env,
                executor_kwargs=self.executor_kwargs,
                output_dir=self.output_dir,
                heartbeat=heartbeat,
            )
            reply = connection.receive(request_id, max(self.response_timeout, START_TIMEOUT))
        except ServerHung as exc:
            self._abandon(f"the executor server did not answer hello: {exc}")
            raise RuntimeStartError(self._start_failure(connection, "did not answer hello in time")) from None
        except RuntimeFailure:  # it stopped reading before hello arrived: whichever came first, it died
            reply = None
        if reply is None:
            self._abandon("the executor server exited during start-up")
            raise RuntimeStartError(self._start_failure(connection, "exited during start-up"))
        if isinstance(reply, ErrorMessage):
            self._abandon("the executor server could not start")
            raise_error(reply)
        self.hello = reply
        self._dead = None
        self._unfinished = None

    def _start_failure(self, connection: Connection, what: str) -> str:
        """One line: where, how the server ended and the launcher's last word (docker's, ssh's)."""
        code = connection.process.returncode
        status = "" if code is None else f" (exit status {code})" if code >= 0 else f" (killed by signal {-code})"
        log.info("%s", self._dead)
        return (
            f"{self.where()}: the executor server {what}{status}: {connection.last_error_line()}; "
            f"check that {connection.command[0]!r} can start it there"
        )

    def where(self) -> str:
        """The place the server runs, for messages: this runtime's name and target."""
        return f"{type(self).__name__} runtime"

    def execute(self, action: Action | dict[str, Any], on_output: Optional[OutputCallback] = None) -> Observation:
        act = as_action(action)
        notes = self._ensure_server()
        connection = self.connection
        assert connection is not None
        self._finish_abandoned(connection)
        request_id = connection.send(ExecuteRequest, type="execute", action=to_dict(act))
        try:
            observation = self._await_result(connection, request_id, act, on_output)
        except BaseException:  # a Ctrl-C or a failing on_output: the server may still be running it
            self._unfinished = request_id
            raise
        if notes:
            observation.extras["notes"] = notes + list(observation.extras.get("notes", []))
        return observation

    def _ensure_server(self) -> list[str]:
        """Start a server if there is none; notes for the observation when it is a restart."""
        if self.connection is not None and self.connection.alive:
            return []
        if self.connection is None and self._dead is None:
            self.start()
            return []
        if self._dead is None and self.connection is not None:
            self._abandon("the executor server exited between actions")
        why = self._dead or "the executor server is gone"
        if not self.restart:
            raise RuntimeFailure(f"{why}\nset [runtime] restart = true to start a fresh server after a failure")
        self.connection = None
        self.start()
        return ["the executor server was restarted after a failure: session state (cwd, variables) was reset"]

    def _finish_abandoned(self, connection: Connection) -> None:
        """Wait (bounded) for the result of an action interrupted by a Ctrl-C, so the server is idle."""
        request_id, self._unfinished = self._unfinished, None
        if request_id is None:
            return
        deadline = time.monotonic() + self.response_timeout
        try:
            while time.monotonic() < deadline:
                message = connection.receive(request_id, max(0.01, deadline - time.monotonic()))
                if message is None or isinstance(message, (ResultMessage, ErrorMessage)):
                    return
        except RuntimeFailure:
            return

    def _await_result(
        self, connection: Connection, request_id: int, act: Action, on_output: Optional[OutputCallback]
    ) -> Observation:
        while True:
            try:
                message = connection.receive(request_id, self.response_timeout)
            except ServerHung as exc:
                return self._failed(f"{exc} while running action {act.action!r}, so it was killed as hung")
            if message is None:
                return self._failed(f"the executor server died while running action {act.action!r}")
            if isinstance(message, OutputMessage):
                if on_output is not None:
                    on_output(message.event.get("output", ""))
            elif isinstance(message, ResultMessage):
                event = from_dict(message.event)
                if not isinstance(event, Observation):
                    raise RuntimeFailure(f"the server answered with a {type(event).__name__}, not an observation")
                return event.model_copy(update={"cause": None})
            elif isinstance(message, ErrorMessage):
                raise_error(message)

    def _failed(self, what: str) -> Observation:
        """The observation for an action whose server died or hung; the server is gone afterwards."""
        self._abandon(what)
        why = self._dead or what
        log.info("%s", why)
        hint = "the next action starts a fresh server" if self.restart else "set [runtime] restart = true to recover"
        return error(f"{why}\n({hint})", server_failed=True)

    def _abandon(self, what: str) -> None:
        """Kill the server (if it still runs) and remember why it ended, with its last stderr lines."""
        connection, self.connection = self.connection, None
        if connection is not None:
            if connection.alive:
                connection.kill()
                self.after_kill()
            self._dead = connection.describe_death(what)

    def interrupt(self) -> None:
        connection = self.connection
        if connection is not None and connection.alive:
            try:
                connection.forget(connection.send(InterruptRequest, type="interrupt"))
            except RuntimeFailure:
                pass

    # -- files (chunked over the protocol: see remote_files) -------------------------------

    def _files_connection(self) -> Connection:
        self._ensure_server()
        assert self.connection is not None
        return self.connection

    def read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        from agentexec.runtimes import remote_files

        return remote_files.read_file(self._files_connection(), str(path), self.response_timeout, limit)

    def write_file(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        from agentexec.runtimes import remote_files
        from agentexec.transfer import CHUNK_SIZE

        chunks = (data[i : i + CHUNK_SIZE] for i in range(0, max(len(data), 1), CHUNK_SIZE))
        remote_files.send_chunks(
            self._files_connection(), str(path), chunks, self.response_timeout, tree=False, mode=mode
        )

    def upload(self, local: str | Path, remote: str) -> None:
        from agentexec.runtimes import remote_files

        remote_files.upload(self._files_connection(), Path(local), str(remote), self.response_timeout)

    def download(self, remote: str, local: str | Path) -> None:
        from agentexec.runtimes import remote_files

        remote_files.download(self._files_connection(), str(remote), Path(local), self.response_timeout)

    def action_schemas(self) -> list[dict[str, Any]]:
        if self.hello is None:
            self.start()
        assert self.hello is not None
        return self.hello.actions

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            connection.close(timeout=5.0)
