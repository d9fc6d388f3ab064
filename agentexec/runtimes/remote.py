"""The client half of the stdio protocol, shared by every runtime whose executor lives elsewhere.

A launcher runtime (``process``, ``sandbox``, ``docker``, ``ssh``) only says which command starts
``agentexec serve --stdio`` with the given arguments; everything else is here: the hello
exchange, requests and responses, streamed output, interrupts, failure handling and restarts.
The process and its reader threads are a ``connection.Connection``; file transfers are chunked
over it by ``remote_files``.

The server sends a heartbeat while a long action is silent; ``response_timeout`` seconds
without any message means the server is hung, and it is killed. A server that dies or hangs
mid-action yields an error observation naming the exit status and its last stderr lines; with
``restart = true`` the next action starts a fresh server.
"""

from __future__ import annotations

import logging
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import ClassLoadError, RuntimeFailure, RuntimeStartError
from agentexec.events import Action, Observation, as_action, error, from_dict, to_dict
from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import load_class, user_code_location
from agentexec.protocol import (
    ErrorMessage,
    ExecuteRequest,
    HelloRequest,
    HelloResponse,
    InterruptRequest,
    OutputMessage,
    ResultMessage,
    raise_error,
)
from agentexec.runtimes import remote_files
from agentexec.runtimes.base import OutputCallback, Runtime
from agentexec.runtimes.connection import Connection, ServerHung
from agentexec.transfer import CHUNK_SIZE

log = logging.getLogger("agentexec.runtimes.remote")

#: Bound on start-up (imports, bwrap, an ssh handshake, a container start), however short response_timeout is.
START_TIMEOUT = 120.0


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

    def user_code(self) -> Optional[Path]:
        """The executor's module file (or package directory) when it is the user's own code, which the
        other side does not have unless a launcher carries it there; None for installed code, and for
        an executor that does not load here (the other side must provide it, or ``import_paths``)."""
        try:
            return user_code_location(load_class(self.executor_path, "executor", BaseActionExecutor))
        except ClassLoadError:
            return None

    def server_output_dir(self) -> Optional[str]:
        """The ``output_dir`` the server's executor is given; a launcher whose server cannot write to
        this machine's paths gives one on the other side and brings its files back."""
        return self.output_dir

    def missing_code_hint(self) -> Optional[str]:
        """What to do when the executor does not import on the other side, naming that side; None for
        launchers on this machine, whose import error says it all."""
        return None

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
                output_dir=self.server_output_dir(),
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
            hint = self.missing_code_hint()
            if reply.error == "ClassLoadError" and hint:
                raise ClassLoadError(f"{self.where()}: the executor does not load there: {reply.message}; {hint}")
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
        return remote_files.read_file(self._files_connection(), str(path), self.response_timeout, limit)

    def write_file(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        chunks = (data[i : i + CHUNK_SIZE] for i in range(0, max(len(data), 1), CHUNK_SIZE))
        remote_files.send_chunks(
            self._files_connection(), str(path), chunks, self.response_timeout, tree=False, mode=mode
        )

    def upload(self, local: str | Path, remote: str) -> None:
        remote_files.upload(self._files_connection(), Path(local), str(remote), self.response_timeout)

    def download(self, remote: str, local: str | Path) -> None:
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
