"""The stdio protocol loop around an executor: what ``agentexec serve --stdio`` runs.

The main thread only reads requests, so an ``interrupt`` is seen while an action runs in the
worker thread. Every response goes through one lock onto a private duplicate of the original
stdout; file descriptor 1 itself is pointed at stderr, so a stray ``print`` in user code (or a
child process that inherits it) can never corrupt the protocol. Logging goes to stderr only.
EOF on stdin, a ``close`` request or SIGTERM all end the same way: interrupt the running action,
close the executor (which kills its bash session and every process started in it), exit.

Actions run one at a time in a worker thread, unless the executor class sets
``concurrent_actions`` (``ActionExecutor`` does: its sessions refuse a second caller on their own):
then each action runs in a thread of its own, so two ``exec`` calls or two named sessions overlap.
File transfers never wait for actions: a ``read_file`` streams from a thread of its own, a
``write_file``'s chunks are written as they are read.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, Optional

from agentexec.errors import AgentexecError, EventFormatError
from agentexec.events import Action, Output, as_action, error, to_dict
from agentexec.executors.base import BaseActionExecutor, request_path
from agentexec.executors.construction import build_executor
from agentexec.protocol import (
    MAX_REQUEST_BYTES,
    PROTOCOL_VERSION,
    REQUEST,
    ChunkRequest,
    CloseRequest,
    ExecuteRequest,
    HelloRequest,
    InterruptRequest,
    ReadFileRequest,
    WriteFileRequest,
    decode,
    error_response,
    frame_size,
    guess_id,
    read_exact,
    response,
)
from agentexec.server_files import FileService
from agentexec.thread_pool import ThreadPool
from agentexec.version import __version__

log = logging.getLogger("agentexec.server")


class Server:
    """Serves one executor class over a pair of byte streams until EOF or ``close``.

    Args:
        executor_path: the class path as given, reported in ``hello``.
        executor_cls: the loaded executor class.
        workspace: the executor's workspace.
        executor_kwargs: constructor arguments from the config's ``[executor]`` table; those of
            the ``hello`` request are applied on top.
        reader: where requests come from.
        writer: where responses go.
        max_request_bytes: longer request lines are answered with an error and skipped.
    """

    def __init__(
        self,
        executor_path: str,
        executor_cls: type[BaseActionExecutor],
        workspace: Path,
        executor_kwargs: dict[str, Any],
        reader: BinaryIO,
        writer: BinaryIO,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.executor_path = executor_path
        self.executor_cls = executor_cls
        self.workspace = workspace
        self.executor_kwargs = executor_kwargs
        self.reader = reader
        self.writer = writer
        self.max_request_bytes = max_request_bytes
        self.executor: Optional[BaseActionExecutor] = None
        self.heartbeat = 5.0
        self._write_lock = threading.Lock()
        self._running_id: Optional[int] = None
        self._running: set[int] = set()  # every action running, when the executor runs them side by side
        self._action_threads = ThreadPool("action")
        self._undispatched: set[int] = set()  # of those, the ones whose thread has not started them yet
        self._cancelled_ids: set[int] = set()
        self.files = FileService(self.send, self._resolve)
        # The request an interrupt came for while its action still waited for the worker thread.
        self._cancelled_id: Optional[int] = None
        self._dispatch_lock = threading.Lock()
        self._dispatched_id: Optional[int] = None
        self._jobs: queue.Queue[Optional[tuple[BaseActionExecutor, Optional[int], Action]]] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._beating = False

    # -- output ----------------------------------------------------------------------------

    def send(self, data: bytes, payload: bytes = b"") -> None:
        """Write one response line (made by ``protocol.response``) and the raw bytes its frame announces."""
        with self._write_lock:
            try:
                self.writer.write(data)
                if payload:
                    self.writer.write(payload)
                self.writer.flush()
            except (BrokenPipeError, ValueError, OSError):
                log.debug("client gone; dropped a response: %.80r", data)

    # -- the loop --------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer requests until EOF or ``close``; then clean up everything."""
        threading.Thread(target=self._work, name="action-worker", daemon=True).start()
        try:
            while True:
                line = self._read_line()
                if line is None:
                    log.info("stdin closed; shutting down")
                    return
                if not line.strip():
                    continue
                try:
                    request = decode(line, REQUEST)
                except EventFormatError as exc:
                    self.reader.read(frame_size(line))  # a bad chunk header's bytes: skipped, the stream stays in step
                    self.send(error_response(exc, guess_id(line)))
                    continue
                if isinstance(request, CloseRequest):
                    self.shutdown()
                    self.send(response("ok", request.id))
                    return
                payload = b""
                if isinstance(request, ChunkRequest) and request.size:
                    try:
                        payload = read_exact(self.reader, request.size)
                    except EventFormatError:
                        log.info("stdin closed inside a chunk; shutting down")
                        return
                self.handle(request, payload)
        finally:
            self.shutdown()

    def _read_line(self) -> Optional[bytes]:
        """The next request line; an oversized one is skipped to its end and answered with an error."""
        while True:
            line = self.reader.readline(self.max_request_bytes + 1)
            if not line:
                return None
            if line.endswith(b"\n") or len(line) <= self.max_request_bytes:
                return line
            size = len(line)
            while not line.endswith(b"\n"):
                line = self.reader.readline(1 << 20)
                if not line:
                    break
                size += len(line)
            exc = EventFormatError(
                f"request of {size} bytes exceeds the limit of {self.max_request_bytes} bytes; it was skipped"
            )
            self.send(error_response(exc))

    def handle(self, request: Any, payload: bytes = b"") -> None:
        try:
            if isinstance(request, HelloRequest):
                self.hello(request)
            elif isinstance(request, ExecuteRequest):
                self.execute(request)
            elif isinstance(request, InterruptRequest):
                self.interrupt()
                self.send(response("ok", request.id))
            elif isinstance(request, ReadFileRequest):
                self.files.read(request)
            elif isinstance(request, WriteFileRequest):
                self.files.open_write(request)
            elif isinstance(request, ChunkRequest):
                self.files.chunk(request, payload)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an error response
            log.warning("%s request %s failed: %s: %s", request.type, request.id, type(exc).__name__, exc)
            self.send(error_response(exc, request.id))

    # -- requests --------------------------------------------------------------------------

    def hello(self, request: HelloRequest) -> None:
        """Build the executor and answer with its actions.

        The schemas come first, so a class whose actions cannot be described fails without
        starting a bash session. They are not built in a thread while bash starts: measured, the
        two competing for the GIL took longer than one after the other.
        """
        if request.heartbeat is not None:
            self.heartbeat = request.heartbeat
        actions = self.executor_cls.action_schemas()
        if self.executor is None:
            self.executor = self._build(request.env, request.executor_kwargs, request.output_dir)
        self.send(
            response(
                "hello",
                request.id,
                protocol=PROTOCOL_VERSION,
                agentexec=__version__,
                executor=self.executor_path,
                actions=actions,
                pid=os.getpid(),
            )
        )

    def _build(self, env: dict[str, str], kwargs: dict[str, Any], output_dir: Optional[str]) -> BaseActionExecutor:
        _end_startup()  # before the executor is constructed and set up: what they allocate is collected as usual
        executor = build_executor(  # a bad option or a failing setup is released and said in one line
            self.executor_cls,
            self.executor_path,
            workspace=self.workspace,
            env=env,
            options={**self.executor_kwargs, **kwargs},
            output_dir=output_dir,
        )
        log.info("executor %s ready in %s (pid %d)", self.executor_path, self.workspace, os.getpid())
        return executor

    def _resolve(self, path: str) -> Path:
        """A file request's path as the executor resolves it: relative to its workspace."""
        return request_path(self.executor, self.workspace, path)

    def execute(self, request: ExecuteRequest) -> None:
        action = as_action(request.action)
        if self.executor is None:
            self.executor = self._build({}, {}, None)
        if not self._beating:  # started here, after hello has set the interval
            self._beating = True
            threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()
        if getattr(self.executor, "concurrent_actions", False) and request.id is not None:
            if request.id in self._running:  # its answer could not be told from the first one's
                raise AgentexecError(f"action of request {request.id} is still running; give a new request its own id")
            self._running.add(request.id)
            with self._dispatch_lock:
                self._undispatched.add(request.id)
            self._action_threads.submit(self._run_side_by_side, self.executor, request.id, action)
            return
        if self._running_id is not None:
            raise AgentexecError(
                f"action of request {self._running_id} is still running; this executor runs one action at a time "
                "(set concurrent_actions = True on its class to allow more)"
            )
        self._running_id = request.id
        self._idle.clear()
        self._jobs.put((self.executor, request.id, action))

    def _run_side_by_side(self, executor: BaseActionExecutor, request_id: int, action: Action) -> None:
        with self._dispatch_lock:
            self._undispatched.discard(request_id)
            cancelled = request_id in self._cancelled_ids
            self._cancelled_ids.discard(request_id)
            mark = getattr(executor, "mark_action_start", None)
            if mark is not None:  # an interrupt after this lock is seen by the executor
                mark()
        try:
            if cancelled:
                observation = error("interrupted before the action started", interrupted=True)
                observation = observation.model_copy(update={"cause": request_id})
            else:
                observation = self._perform(executor, request_id, action)
        finally:
            self._running.discard(request_id)
        self.send(response("result", request_id, event=to_dict(observation)))

    def _perform(self, executor: BaseActionExecutor, request_id: Optional[int], action: Action) -> Any:
        def stream(text: str) -> None:
            self.send(response("output", request_id, event=to_dict(Output(output=text, cause=request_id))))

        try:
            observation = executor.run_action(action, stream)
        except BaseException as exc:  # noqa: BLE001 - even SystemExit in user code must be answered
            observation = error(f"action {action.action!r} failed: {type(exc).__name__}: {exc}")
        return observation.model_copy(update={"cause": request_id})

    def _work(self) -> None:
        """Run queued actions one at a time: one long-lived thread, no thread start per action."""
        while (job := self._jobs.get()) is not None:
            executor, request_id, action = job
            with self._dispatch_lock:
                cancelled = self._cancelled_id == request_id
                self._dispatched_id = request_id
            if cancelled:
                observation = error("interrupted before the action started", interrupted=True)
                observation = observation.model_copy(update={"cause": request_id})
            else:
                observation = self._perform(executor, request_id, action)
            self._running_id = None  # idle before the client hears so, so its next request is never "busy"
            self._idle.set()
            self.send(response("result", request_id, event=to_dict(observation)))

    def _beat(self) -> None:
        """Tell the client the server is alive while a long action is silent."""
        while not self._stopping.wait(self.heartbeat):
            running = self._running_id
            if running is not None:
                self.send(response("alive", running))
            for request_id in list(self._running):
                self.send(response("alive", request_id))

    def interrupt(self) -> None:
        """Interrupt what runs, as ``local`` does: the executor's ``interrupt`` is called even between
        actions (a command a timed-out ``run`` left running gets its Ctrl-C); an action still queued
        for the worker thread is not started at all."""
        running = self._running_id
        with self._dispatch_lock:
            self._cancelled_ids |= self._undispatched
        if running is not None:
            with self._dispatch_lock:
                if self._dispatched_id != running:
                    self._cancelled_id = running
                    return
        if self.executor is not None:
            self.executor.interrupt()

    def shutdown(self) -> None:
        """Interrupt what runs, close the executor; safe to call more than once."""
        self._stopping.set()
        executor, self.executor = self.executor, None
        if executor is None:
            return
        self.files.close()
        if self._running_id is not None or self._running:
            executor.interrupt()
            self._idle.wait(2.0)
        self._jobs.put(None)
        try:
            executor.close()
        except Exception as exc:  # noqa: BLE001 - shutting down regardless
            log.warning("closing the executor failed: %s: %s", type(exc).__name__, exc)


def _end_startup() -> None:
    """Freeze what start-up built and turn the garbage collector (back) on.

    ``python -m agentexec serve`` turns the collector off while it imports modules, loads the
    executor class and builds its action schemas: all of that lives as long as the server, so
    collections then find next to nothing yet cost ~10 ms. Freezing moves those objects out of the
    collector's sight for good, so later collections, between actions, need not walk every
    module and validator again (a full walk takes ~10 ms). The thousand or so small objects
    start-up left unreachable are frozen with them rather than paid for with that walk now.
    """
    gc.freeze()
    gc.enable()


def protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """stdin for requests and a private copy of stdout for responses; fd 1 becomes stderr."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


def serve_stdio(
    executor_path: str,
    executor_cls: type[BaseActionExecutor],
    workspace: Path,
    executor_kwargs: dict[str, Any],
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> None:
    """Serve on this process's stdin/stdout; SIGTERM and SIGHUP shut down as EOF does."""
    reader, writer = protocol_streams()

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    server = Server(executor_path, executor_cls, workspace, executor_kwargs, reader, writer, max_request_bytes)
    server.serve()


def report_startup_error(exc: BaseException) -> None:
    """Tell a client (on stdout, as a protocol error) and a human (on stderr) why serving cannot start."""
    sys.stdout.buffer.write(error_response(exc))
    sys.stdout.flush()
    print(f"agentexec serve: error: {exc}", file=sys.stderr)
