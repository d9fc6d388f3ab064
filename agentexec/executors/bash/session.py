"""A persistent bash session on a pseudo-terminal, built for agents rather than for humans.

How a command runs: its text is written to a file, a runner file wraps it (``{ . FILE; } >OUT
2>&1`` and the marker machinery, see ``script``), and bash is sent one word, ``. RUNNER``, so no
command text ever crosses the terminal (no echo to strip, no 4 KiB line limit, no tab completion
of pasted text). The runner announces that it has started and ``PROMPT_COMMAND`` reports the
command's id, exit code and cwd, both on a marker channel of their own, so no output, however
crafted, can end a command early or fake its exit code. Ctrl-C and Ctrl-Z wait for the
announcement (see ``foreground``). After every command the marker machinery is re-asserted, so a
command that changes ``PS1`` or ``PROMPT_COMMAND`` cannot hide the end of the next one.

A command's background jobs inherit its output terminal; when a command ends and something still
holds it, the terminal is retired to a reader thread (``background``) and the next command gets a
fresh one. Job control is on, so C-z stops the foreground job and gives bash back, as in a
terminal. pexpect is used to spawn and signal bash, with its 50 ms ``delaybeforesend`` turned
off. Cleaning and capping the output lives in ``output``; finding, probing and killing the
session's processes, and the watchdog that kills them if this process dies, in ``sessionprocs``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import termios
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import pexpect

from agentexec.errors import SessionBusy
from agentexec.executors.bash import script
from agentexec.executors.bash.background import BackgroundReader
from agentexec.executors.bash.foreground import CONTROL_KEYS, Foreground
from agentexec.executors.bash.reader import CommandReader, Limits, Outcome
from agentexec.executors.bash.result import NON_INTERACTIVE_ENV, CommandResult
from agentexec.executors.bash.scratch import ScratchFiles
from agentexec.executors.bash.terminals import COLUMNS, ROWS, MarkerChannel, OutputTerminal, drain
from agentexec.executors.sessionprocs import (
    TAG_VARIABLE,
    blocked_reading,
    holds_for_reading,
    kill_session,
    session_members,
    start_watchdog,
    terminal_of,
    would_die_of_sigint,
)

#: How long ``interrupt()`` waits for an interrupted command that nobody is reading to end.
INTERRUPT_WAIT = 2.0


class BashSession:
    """One long-lived ``bash`` whose state (cwd, variables, functions, aliases) persists."""

    def __init__(
        self,
        cwd: Path,
        env: Optional[dict[str, str]] = None,
        *,
        max_output_chars: int = 30_000,
        output_dir: Optional[Path] = None,
    ) -> None:
        self.initial_cwd = Path(cwd)
        self._tag = os.urandom(8).hex()  # marks the session's processes (see sessionprocs)
        self.env = {**os.environ, **NON_INTERACTIVE_ENV, **(env or {}), TAG_VARIABLE: self._tag}
        self.max_output_chars = max_output_chars
        self.output_dir = Path(output_dir) if output_dir else Path(tempfile.gettempdir()) / "agentexec-outputs"
        self.cwd = str(cwd)
        self._child: Optional[pexpect.spawn] = None
        self._out: Optional[OutputTerminal] = None
        self._channel: Optional[MarkerChannel] = None
        self._background: Optional[BackgroundReader] = None
        self._watchdog: Optional[tuple[subprocess.Popen, int]] = None
        self._files = ScratchFiles()
        self._foreground = Foreground(self._send, self._interrupt_missed)
        # One reader at a time: run() reads its command, interrupt() only a command nobody reads.
        self._reading = threading.Lock()
        # Each command carries an id that its markers repeat; a fresh bash's first marker has id 0.
        self._command_id = 0
        self._terminal = ""  # bash's own terminal, /dev/pts/N

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.isalive()

    @property
    def command_number(self) -> int:
        """How many commands this session has launched: tells one command from the next."""
        return self._command_id

    @property
    def running(self) -> bool:
        """Whether a command is still running (left so by a timeout, or waiting for input)."""
        return self._foreground.running

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Spawn bash and install the prompt marker; returns when the first prompt is reported."""
        self._files.open()
        self._channel = MarkerChannel(self._files.marks)
        self._child = pexpect.spawn(
            "/bin/bash",
            ["--noprofile", "--norc", "--noediting", "-i"],
            cwd=str(self.initial_cwd),
            env=self.env,
            echo=False,
            dimensions=(ROWS, COLUMNS),
        )
        self._child.delaybeforesend = None
        # "\n" stays "\n" on bash's terminal (set here, on the master, instead of running stty).
        attrs = termios.tcgetattr(self._child.child_fd)
        attrs[1] &= ~termios.ONLCR
        termios.tcsetattr(self._child.child_fd, termios.TCSANOW, attrs)
        # ptyprocess sleeps 0.1 s after closing; the session is SIGKILLed before that, so skip it.
        self._child.ptyproc.delayafterclose = 0
        self._child.ptyproc.delayafterterminate = 0.001
        self._terminal = terminal_of(self._child.pid)
        self._watchdog = start_watchdog(self._child.pid, self._tag, str(self._files.directory))
        self._out = OutputTerminal()
        self._command_id = 0
        self._foreground.reset()
        self._child.send(script.setup_line(str(self._files.marks), self._out.path))
        outcome = self._reader(None).read(Limits(timeout=30, quiet=True))
        if outcome.ended is None:
            raise RuntimeError("bash did not start within 30 s")

    def close(self) -> None:
        """Kill bash and every process it started, including background and nohup'd jobs."""
        child, self._child = self._child, None
        if child is not None:
            kill_session(child.pid, self._tag, idle=not self.running)
            try:
                child.wait()  # SIGKILLed: reaped at once, so close() finds it dead and skips its 1 ms sleep
                child.close(force=True)
            except Exception:  # noqa: BLE001 - it is gone either way
                pass
        self._stop_watchdog()
        for part in (self._out, self._channel, self._background):
            if part is not None:
                part.close()
        self._out = self._channel = self._background = None
        self._foreground.reset()
        self._files.remove()

    def _stop_watchdog(self) -> None:
        """Retire the watchdog: ``close()`` has just swept the session itself, so a second sweep
        (its slow shell loop over /proc, milliseconds per close) would find nothing."""
        if self._watchdog is None:
            return
        process, pipe = self._watchdog
        self._watchdog = None
        process.kill()
        process.wait()
        os.close(pipe)

    # -- commands --------------------------------------------------------------------------

    def run(
        self,
        command: str,
        *,
        timeout: Optional[float],
        no_output_timeout: Optional[float] = None,
        is_input: bool = False,
        on_output: Optional[Callable[[str], None]] = None,
    ) -> CommandResult:
        """Run ``command`` (or send it as input to the running one) and wait for the prompt."""
        with self._reading:  # interrupt() never reads at the same time
            notes: list[str] = []
            if not self.alive:
                if self._child is not None:
                    notes.append(
                        "the previous bash session had exited; started a fresh one (cwd and variables are reset)"
                    )
                self.close()
                self.start()
            if is_input and not self.running:
                return CommandResult("", None, self.cwd, notes=notes + ["no command is running to receive input"])
            with self._foreground.awaiting():
                if is_input:
                    self._send_input(command)
                elif not self._launch(command, notes):
                    return CommandResult("", 130, self.cwd, notes=notes + ["interrupted before the command started"])
                result = self._read(Limits(timeout, no_output_timeout), on_output)
            result.notes[:0] = notes
            return result

    def _send_input(self, text: str) -> None:
        """Keys that signal (C-c, C-z) go to bash's terminal; text and C-d to where a reader waits."""
        if text in ("C-c", "C-z"):
            self._foreground.press(text)
        elif text:
            os.write(self._input_fd(), (CONTROL_KEYS.get(text) or text + "\n").encode())

    def _launch(self, command: str, notes: list[str]) -> bool:
        """Hand bash the command, unless an interrupt has come for it already (then False); an errexit
        command runs in a subshell so that it cannot end bash."""
        assert self._child is not None and self._out is not None
        if self.running:
            raise SessionBusy(
                "a command is still running; send input with is_input=true, "
                "an empty is_input command to wait for more output, or C-c to interrupt it"
            )
        self._drain()
        subshell = script.needs_subshell(command)
        if subshell:
            notes.append("the command sets errexit, so it ran in a subshell: its state changes do not persist")
        self._files.write_command(command)
        self._out.hold()
        self._command_id += 1
        marks, path = str(self._files.marks), str(self._files.command)
        self._files.write_runner(script.runner(self._command_id, path, self._out.path, marks, subshell=subshell))
        return self._foreground.launch(f". {script.quote(str(self._files.runner))}\n")

    def _drain(self) -> None:
        """Discard what bash printed between commands (job reports of background jobs)."""
        assert self._child is not None
        drain(self._child.child_fd)

    def interrupt(self) -> None:
        """Send Ctrl-C to whatever is running in the foreground.

        When no ``run`` is reading the command (the caller's own wait was what Ctrl-C cut short),
        wait here, up to ``INTERRUPT_WAIT``, for it to end, so that the next action finds the
        session idle instead of busy with a command nobody is reading. Two readers would take each
        other's markers, so the wait happens only while no ``run`` holds the session.
        """
        if not (self.alive and self._foreground.interrupt()) or not self._reading.acquire(blocking=False):
            return
        try:
            if self._foreground.running:
                self._read(Limits(INTERRUPT_WAIT, quiet=True), None)
        finally:
            self._reading.release()

    def _send(self, text: str) -> None:
        assert self._child is not None
        self._child.send(text)

    def _interrupt_missed(self) -> bool:
        """Whether the job in bash's foreground (not bash itself) is one a Ctrl-C would have ended."""
        child = self._child
        try:
            job = os.tcgetpgrp(child.child_fd) if child is not None else None
        except OSError:
            return False
        return child is not None and job is not None and job != child.pid and would_die_of_sigint(job)

    def _input_fd(self) -> int:
        """Where typed input goes: bash's terminal, unless a program reads keys from the output terminal.

        Pagers and editors (``less``, ``vi``) read keys from the terminal they draw on, which is the
        output terminal here; a process holding it open for reading says that is where it listens.
        """
        assert self._child is not None and self._out is not None
        if holds_for_reading(session_members(self._child.pid), self._out.path):
            return self._out.master
        return self._child.child_fd

    # -- reading ---------------------------------------------------------------------------

    def _reader(self, on_output: Optional[Callable[[str], None]]) -> CommandReader:
        assert self._child is not None and self._out is not None and self._channel is not None
        return CommandReader(
            bash_fd=self._child.child_fd,
            output=self._out,
            channel=self._channel,
            foreground=self._foreground,
            command_id=self._command_id,
            waiting_for_input=self._waiting_for_input,
            max_output_chars=self.max_output_chars,
            output_dir=self.output_dir,
            on_output=on_output,
        )

    def _read(self, limits: Limits, on_output: Optional[Callable[[str], None]]) -> CommandResult:
        outcome = self._reader(on_output).read(limits)
        if outcome.died:
            return self._died(outcome)
        result = self._result(outcome)
        if outcome.ended is not None:
            self._foreground.finished()
            self._retire_output_terminal(result)
        return result

    def _waiting_for_input(self) -> bool:
        assert self._child is not None and self._out is not None
        return blocked_reading(session_members(self._child.pid), {self._out.path, self._terminal})

    def _retire_output_terminal(self, result: CommandResult) -> None:
        """Hand the output terminal to the background reader if processes still hold it."""
        assert self._out is not None
        leftover = self._out.release()
        if leftover is None:
            return
        if self._background is None:
            self._background = BackgroundReader(self.output_dir)
        self._background.adopt(self._out.master, leftover)
        self._out = OutputTerminal()
        result.background_log = str(self._background.path)
        result.notes.append(
            f"processes started by this command still hold its output; what they print from now on "
            f"goes to {self._background.path}, not to later observations"
        )

    def _result(self, outcome: Outcome, exit_code: Optional[int] = None) -> CommandResult:
        if outcome.ended is not None:
            self.cwd, exit_code = outcome.ended.cwd, outcome.ended.exit_code
        buffer = outcome.buffer
        return CommandResult(
            output=buffer.text(),
            exit_code=exit_code,
            cwd=self.cwd,
            running=outcome.timed_out is not None,
            timed_out=outcome.timed_out,
            notes=outcome.stats.notes(),
            output_path=str(buffer.spill_path) if buffer.spill_path else None,
            total_chars=buffer.total,
        )

    def _died(self, outcome: Outcome) -> CommandResult:
        """bash is gone: report how, and leave the restart to the next action."""
        exit_code, how = None, "exited"
        if self._child is not None:
            try:
                self._child.close(force=True)
            except Exception:  # noqa: BLE001 - it is gone either way
                pass
            exit_code = self._child.exitstatus
            if self._child.signalstatus is not None:
                exit_code = 128 + self._child.signalstatus
                how = f"was killed by signal {self._child.signalstatus}"
        self._foreground.finished()
        result = self._result(outcome, exit_code)
        result.notes.append(f"bash {how}; the next action starts a fresh session (cwd and variables are reset)")
        return result
