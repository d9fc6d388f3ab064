"""``ActionExecutor``: the standard actions, named and shaped as OpenHands' so its trajectories replay."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

from annotated_types import Gt

from agentexec.events import Action, Observation, error
from agentexec.executors.base import BaseActionExecutor, OutputCallback, action
from agentexec.executors.bash import BashSession, CommandResult, SessionBusy
from agentexec.executors.browser import BrowserActions
from agentexec.executors.confine import Confinement
from agentexec.executors.file_actions import FileActions
from agentexec.executors.ipython import IPythonActions
from agentexec.executors.oneshot import ExecResult, run_argv
from agentexec.executors.sessions import DEFAULT_SESSION, SessionPool

#: Seconds that must be a positive number: a zero or negative limit would end every command at once.
Seconds = Annotated[float, Gt(0)]


class ActionExecutor(FileActions, IPythonActions, BrowserActions, BaseActionExecutor):
    """Shell, file, editor and control actions over one workspace and named bash sessions.

    ``read``/``write``/``edit`` come from ``FileActions``; ``run_ipython`` and ``browse`` from their
    mixins, each with a resource started on first use.

    Args:
        workspace: directory the actions work in; relative paths resolve against it.
        env: extra environment variables for the bash session.
        timeout: default hard timeout of a ``run`` action, in seconds.
        no_output_timeout: a ``run`` returns after this many seconds without output.
        max_output_chars: output kept in an observation; the rest is spilled to a file.
        output_dir: where spilled outputs, background jobs' logs, images and screenshots go (default: a
            temporary directory; ``agentexec run`` sets ``<event log>.outputs``).
        confine_to_workspace: read, write and edit refuse paths that lead out of the workspace
            (``..``, absolute paths, symlinks); the ``sandbox`` runtime turns it on by default.
    """

    def __init__(
        self,
        workspace: str | Path = ".",
        env: Optional[dict[str, str]] = None,
        timeout: Seconds = 120.0,
        no_output_timeout: Optional[Seconds] = 30.0,
        max_output_chars: Annotated[int, Gt(0)] = 30_000,
        output_dir: Optional[str] = None,
        confine_to_workspace: bool = False,
    ) -> None:
        super().__init__(workspace, env)
        self.timeout = timeout
        self.no_output_timeout = no_output_timeout
        self.max_output_chars = max_output_chars
        self.output_dir = Path(output_dir) if output_dir else None
        self.sessions: Optional[SessionPool] = None
        self.confinement = Confinement(self.workspace) if confine_to_workspace else None
        self._execs: set[subprocess.Popen[bytes]] = set()
        self._execs_lock = threading.Lock()
        # Interrupts so far, and per thread how many there had been when its action began: an
        # interrupt that lands while an action is still on its way to bash or Popen (nothing to
        # signal yet) must stop it from starting, not be lost.
        self._interrupts = 0
        self._action_start = threading.local()

    #: Independent actions (exec, file actions, different sessions) may run side by side over the
    #: protocol: the session pool refuses a second caller of one session on its own.
    concurrent_actions = True

    @property
    def bash(self) -> Optional[BashSession]:
        """The default session (started with the executor)."""
        return None if self.sessions is None else self.sessions.get(DEFAULT_SESSION)

    def setup(self) -> None:
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.sessions = SessionPool(
            self.workspace, self.env, max_output_chars=self.max_output_chars, output_dir=self.output_dir
        )
        self.sessions.get(DEFAULT_SESSION)
        super().setup()

    def close(self) -> None:
        if self.sessions is not None:
            self.sessions.close()
        with self._execs_lock:
            running = list(self._execs)
        for process in running:
            _kill_group(process)
        super().close()

    def mark_action_start(self) -> None:
        """Called by the thread about to run an action: interrupts from now on stop it from starting.

        The server calls it as it hands the action over, so no interrupt falls between the two.
        """
        self._action_start.interrupts = self._interrupts
        self._action_start.marked = True

    def run_action(self, request: Action | dict[str, Any], on_output: OutputCallback | None = None) -> Observation:
        if not getattr(self._action_start, "marked", False):
            self.mark_action_start()
        try:
            return super().run_action(request, on_output)
        finally:
            self._action_start.marked = False

    def _interrupted_before_start(self) -> Optional[Observation]:
        """An ``interrupted`` error when an interrupt came after this action began, before its process."""
        if self._interrupts == getattr(self._action_start, "interrupts", self._interrupts):
            return None
        return error("interrupted before the command started", interrupted=True)

    def interrupt(self) -> None:
        """Ctrl-C to every session's running command and SIGINT to every running ``exec``."""
        self._interrupts += 1
        if self.sessions is not None:
            self.sessions.interrupt()
        with self._execs_lock:
            running = list(self._execs)
        for process in running:
            _kill_group(process, signal.SIGINT)
        super().interrupt()

    @action
    def run(
        self, command: str, is_input: bool = False, timeout: Optional[Seconds] = None, session: str = DEFAULT_SESSION
    ) -> Observation:
        """Run a bash command in the persistent session (cwd, variables, functions and venvs carry over).

        A command still running at its timeout, or waiting for input, is left running: go on with
        is_input. Long output is cut in the middle; the full output is saved to a file.

        Args:
            command: the command line; with is_input, text for the running process (Enter is added), an empty
                string to wait for more output, or C-c, C-d, C-z.
            is_input: send command to the process that is still running instead of starting a new one.
            timeout: seconds before the action returns with the process left running.
            session: name of the bash session; each name is its own shell, started on first use.
        """
        if self.sessions is None:
            raise RuntimeError("the executor is not set up; call setup() first")
        started = time.monotonic()
        hard = timeout if timeout is not None else self.timeout
        try:
            bash, lock = self.sessions.acquire(session)
        except SessionBusy as exc:
            return error(str(exc), running=True, session=session)
        try:
            if (interrupted := self._interrupted_before_start()) is not None:
                return interrupted
            result = bash.run(
                command,
                timeout=hard,
                no_output_timeout=self.no_output_timeout,
                is_input=is_input,
                on_output=self.emit,
            )
        except SessionBusy as exc:
            return error(str(exc), running=True, session=session)
        finally:
            lock.release()
        content = result.output + self._run_status(result, hard) + "".join(f"\n[{note}]" for note in result.notes)
        extras = _run_extras(result, time.monotonic() - started)
        if session != DEFAULT_SESSION:
            extras["session"] = session
        return Observation(observation="run", content=content, extras=extras)

    @action
    def close_session(self, session: str) -> Observation:
        """End a named bash session and every process started in it; the next run of that name starts afresh.

        Args:
            session: the session's name.
        """
        if self.sessions is None:
            raise RuntimeError("the executor is not set up; call setup() first")
        closed = self.sessions.close_session(session)
        what = f"closed session {session!r}" if closed else f"no session {session!r} was open"
        return Observation(observation="close_session", content=what, extras={"session": session, "closed": closed})

    @action
    def exec(
        self,
        argv: list[str],
        stdin: Optional[str] = None,
        stdin_base64: Optional[str] = None,
        stdin_file: Optional[str] = None,
        env: Optional[dict[str, str]] = None,
        cwd: Optional[str] = None,
        timeout: Optional[float] = None,
        user: Optional[str] = None,
        max_output_chars: Optional[int] = None,
    ) -> Observation:
        """Run a program without the shell session: no shell parsing, stdout and stderr apart.

        The observation's content is stdout; extras hold stderr, exit_code and timed_out. At the
        timeout the whole process tree is killed. Long output is cut; the full text is saved to a file.

        Args:
            argv: the program and its arguments, e.g. ["python", "-c", "print(1)"].
            stdin: text for the program's standard input.
            stdin_base64: bytes for standard input, base64-encoded.
            stdin_file: a file whose bytes are the standard input; relative to the workspace.
            env: variables added to the executor's environment.
            cwd: working directory; relative to the workspace (default: the workspace).
            timeout: seconds before the process tree is killed (default: the executor's timeout).
            user: run as this user (needs the executor to run as root).
            max_output_chars: characters kept per stream (default: the executor's max_output_chars).
        """
        if sum(value is not None for value in (stdin, stdin_base64, stdin_file)) > 1:
            raise ValueError("give at most one of stdin, stdin_base64 and stdin_file")
        data: Optional[bytes | Path] = None
        if stdin is not None:
            data = stdin.encode("utf-8", "surrogateescape")
        elif stdin_base64 is not None:
            data = base64.b64decode(stdin_base64, validate=True)
        elif stdin_file is not None:
            data = self.resolve(stdin_file)
        started = time.monotonic()
        limit = self.timeout if timeout is None else timeout
        if (interrupted := self._interrupted_before_start()) is not None:
            return interrupted
        result = run_argv(
            argv,
            stdin=data,
            env={**os.environ, **self.env, **(env or {})},
            cwd=self.resolve(cwd) if cwd else self.workspace,
            timeout=limit,
            user=user,
            max_output_chars=max_output_chars or self.max_output_chars,
            spill_dir=self.output_dir or Path(tempfile.gettempdir()) / "agentexec-outputs",
            on_start=self._track,
        )
        self._untrack()
        return Observation(observation="exec", content=result.stdout, extras=_exec_extras(result, limit, started))

    def _track(self, process: subprocess.Popen[bytes]) -> None:
        with self._execs_lock:
            self._execs.add(process)

    def _untrack(self) -> None:
        with self._execs_lock:
            self._execs = {process for process in self._execs if process.poll() is None}

    def _run_status(self, result: CommandResult, hard: float) -> str:
        """For a command left running, why it returned and how the agent goes on; else nothing."""
        if not result.running:
            return ""
        if result.timed_out == "no_output_timeout":
            what = f"no output for {self.no_output_timeout:g} s"
        elif result.timed_out == "waiting_for_input":
            what = "the command is waiting for input"
        else:
            what = f"still running after {hard:g} s"
        return (
            f"\n[{what} ({result.timed_out}); the process is left running: run with is_input=true and an "
            "empty command to wait for more output, text to answer it, or C-c to stop it]"
        )

    @action
    def finish(self, message: str = "") -> Observation:
        """End the task, with an optional final message for the user.

        Args:
            message: what the agent wants to say as it finishes.
        """
        return Observation(observation="finish", content=message)

    @action
    def message(self, content: str, wait_for_response: bool = False) -> Observation:
        """Say something to the user.

        Args:
            content: the message.
            wait_for_response: whether the agent expects an answer before going on.
        """
        return Observation(observation="message", content=content, extras={"wait_for_response": wait_for_response})


def _kill_group(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, signum)
    except OSError:
        pass


def _exec_extras(result: ExecResult, timeout: float, started: float) -> dict[str, Any]:
    extras: dict[str, Any] = {
        "exit_code": result.exit_code,
        "stderr": result.stderr,
        "timed_out": result.timed_out,
        "duration": round(time.monotonic() - started, 6),
    }
    if result.timed_out:
        extras["notes"] = [f"killed after {timeout:g} s (the whole process tree)"]
    for name, path, chars in (
        ("stdout", result.stdout_path, result.stdout_chars),
        ("stderr", result.stderr_path, result.stderr_chars),
    ):
        if path:
            extras[f"{name}_path"] = path
            extras[f"{name}_chars"] = chars
    if result.invalid_utf8:
        extras["invalid_utf8"] = True
    return extras


def _run_extras(result: CommandResult, duration: float) -> dict[str, Any]:
    """A run observation's extras: always exit code, cwd and duration; the rest when it applies."""
    extras: dict[str, Any] = {
        "exit_code": -1 if result.exit_code is None else result.exit_code,
        "cwd": result.cwd,
        "duration": round(duration, 6),
    }
    if result.running:
        extras["running"] = True
        extras["timed_out"] = result.timed_out
    if result.output_path:
        extras["output_path"] = result.output_path
        extras["output_chars"] = result.total_chars
    if result.background_log:
        extras["background_log"] = result.background_log
    if result.notes:
        extras["notes"] = result.notes
    return extras
