"""A persistent bash session on a pseudo-terminal, built for agents rather than for humans.

How a command runs: its text is written to a file and bash is told ``. FILE``, so no command
text ever crosses the terminal (no echo to strip, no 4 KiB line limit, no tab completion of
pasted text). Completion is detected by a prompt marker printed by ``PROMPT_COMMAND``: a random
nonce with the exit code and the cwd. After every command the marker machinery is re-asserted,
so a command that changes ``PS1`` or ``PROMPT_COMMAND`` cannot hide the end of the next one.

Output is read straight from the pty with ``select``/``os.read`` and the marker is looked for
only in the newest bytes, so a 10 MB output costs linear time; pexpect is used to spawn and
signal the process, with its human-friendly 50 ms ``delaybeforesend`` turned off.
"""

from __future__ import annotations

import codecs
import os
import re
import secrets
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pexpect

#: Environment given to every session so that no program waits for a human or pages its output.
NON_INTERACTIVE_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "LESS": "-FRX",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1",
    "PIP_PROGRESS_BAR": "off",
    "DEBIAN_FRONTEND": "noninteractive",
    "GIT_TERMINAL_PROMPT": "0",
}

#: Keys sent for the special ``is_input`` commands.
CONTROL_KEYS = {"C-c": "\x03", "C-d": "\x04", "C-z": "\x1a"}

_ERREXIT = re.compile(r"(^|[\s;&|(])set\s+(-[a-zA-Z]*e[a-zA-Z]*|-o\s+errexit)\b")
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKER_WINDOW = 4096 + 128  # the longest marker: two nonces, an exit code and PATH_MAX


@dataclass
class CommandResult:
    """What came of one ``run``: the output and the state the session is left in."""

    output: str
    exit_code: Optional[int]
    cwd: str
    running: bool = False
    timed_out: Optional[str] = None  # "timeout" or "no_output_timeout"
    notes: list[str] = field(default_factory=list)
    output_path: Optional[str] = None
    total_chars: int = 0


class OutputBuffer:
    """Keeps the head and tail of a command's output within ``limit`` characters.

    Everything beyond the limit is spilled in full to a file, so nothing is lost and memory
    stays bounded however much a command prints.
    """

    def __init__(self, limit: int, spill_dir: Path) -> None:
        self.limit = limit
        self.spill_dir = spill_dir
        self.head: list[str] = []
        self.head_size = 0
        self.tail: list[str] = []
        self.tail_size = 0
        self.total = 0
        self.spill_path: Optional[Path] = None
        self._spill = None

    def add(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        if self._spill is not None:
            self._spill.write(text)
        elif self.total > self.limit:
            self.spill_dir.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix="output-", suffix=".txt", dir=self.spill_dir)
            self._spill = os.fdopen(handle, "w", encoding="utf-8", errors="replace")
            self.spill_path = Path(name)
            self._spill.write("".join(self.head) + "".join(self.tail) + text)
        half = self.limit // 2
        if self.head_size < half:
            take = text[: half - self.head_size]
            self.head.append(take)
            self.head_size += len(take)
            text = text[len(take) :]
        if text:
            self.tail.append(text)
            self.tail_size += len(text)
            while self.tail and self.tail_size - len(self.tail[0]) >= self.limit - half:
                self.tail_size -= len(self.tail.pop(0))

    def text(self) -> str:
        head = "".join(self.head)
        tail = "".join(self.tail)
        if self._spill is None:
            return head + tail
        self._spill.close()
        keep = self.limit - len(head)
        tail = tail[-keep:] if keep > 0 else ""
        cut = self.total - len(head) - len(tail)
        return f"{head}\n[... {cut} characters cut; full output in {self.spill_path} ...]\n{tail}"


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
        self.env = {**os.environ, **NON_INTERACTIVE_ENV, **(env or {})}
        self.max_output_chars = max_output_chars
        self.output_dir = output_dir
        self.cwd = str(cwd)
        self.running = False
        self._child: Optional[pexpect.spawn] = None
        self._nonce = secrets.token_hex(8)
        self._marker = re.compile(
            b"\x1e" + self._nonce.encode() + rb":(\d+):(.*?):" + self._nonce.encode() + b"\x1e",
            re.S,
        )
        self._scratch = Path(tempfile.mkdtemp(prefix="agentexec-bash-"))
        self._script = self._scratch / "command.sh"

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.isalive()

    def start(self) -> None:
        """Spawn bash and install the prompt marker; returns when the first prompt is seen."""
        self._child = pexpect.spawn(
            "/bin/bash",
            ["--noprofile", "--norc", "--noediting", "-i"],
            cwd=str(self.initial_cwd),
            env=self.env,
            echo=False,
            dimensions=(50, 200),
        )
        self._child.delaybeforesend = None
        self.running = False
        nonce = self._nonce
        setup = (
            "stty -onlcr -echo 2>/dev/null; set +m; set +o history; unset HISTFILE; "
            f'__aex_prompt() {{ local rc=$?; printf \'\\036%s:%s:%s:%s\\036\' {nonce} "$rc" "$PWD" {nonce}; }}; '
            "__aex_reset() { PROMPT_COMMAND=__aex_prompt; PS1=; PS2=; PS0=; return $1; }; "
            "__aex_reset 0\n"
        )
        self._child.send(setup)
        result = self._collect(timeout=30, no_output_timeout=None, on_output=None, quiet=True)
        if result.running:
            raise RuntimeError(f"bash did not start within 30 s: {result.output[-500:]!r}")

    def close(self) -> None:
        """Kill bash and every process it started, including background and nohup'd jobs."""
        child, self._child = self._child, None
        if child is not None:
            _kill_session(child.pid)
            try:
                child.close(force=True)
            except Exception:  # noqa: BLE001 - it is gone either way
                pass
        self.running = False
        shutil.rmtree(self._scratch, ignore_errors=True)

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
        notes: list[str] = []
        if not self.alive:
            if self._child is not None:
                notes.append("the previous bash session had exited; started a fresh one")
            self.close()
            self._scratch.mkdir(parents=True, exist_ok=True)
            self.start()
            if is_input:
                return CommandResult("", None, self.cwd, notes=notes + ["no command is running; input not sent"])
        if is_input:
            if not self.running:
                return CommandResult("", None, self.cwd, notes=notes + ["no command is running to receive input"])
            assert self._child is not None
            if command in CONTROL_KEYS:
                self._child.send(CONTROL_KEYS[command])
            elif command:
                self._child.send(command + "\n")
        else:
            if self.running:
                raise SessionBusy(
                    "a command is still running; send input with is_input=true, "
                    "an empty is_input command to wait for more output, or C-c to interrupt it"
                )
            self._drain()
            runner = "."
            if _ERREXIT.search(command):
                runner = "__aex_errexit"
                notes.append("the command sets errexit, so it ran in a subshell: its state changes do not persist")
            self._script.write_text(command + "\n", encoding="utf-8")
            assert self._child is not None
            if runner == ".":
                line = f". {_quote(str(self._script))}; __aex_reset $?\n"
            else:
                line = f"( . {_quote(str(self._script))} ); __aex_reset $?\n"
            self._child.send(line)
            self.running = True
        result = self._collect(timeout=timeout, no_output_timeout=no_output_timeout, on_output=on_output)
        result.notes[:0] = notes
        return result

    def interrupt(self) -> None:
        """Send Ctrl-C to whatever is running in the foreground."""
        if self.alive and self._child is not None:
            self._child.send(CONTROL_KEYS["C-c"])

    # -- reading ---------------------------------------------------------------------------

    def _drain(self) -> None:
        """Discard output that arrived while no command ran (from background jobs)."""
        assert self._child is not None
        fd = self._child.child_fd
        while select.select([fd], [], [], 0)[0]:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return

    def _collect(
        self,
        *,
        timeout: Optional[float],
        no_output_timeout: Optional[float],
        on_output: Optional[Callable[[str], None]],
        quiet: bool = False,
    ) -> CommandResult:
        """Read until the prompt marker, a timeout, or bash's death."""
        assert self._child is not None
        fd = self._child.child_fd
        spill_dir = self.output_dir or Path(tempfile.gettempdir()) / "agentexec-outputs"
        buffer = OutputBuffer(self.max_output_chars, spill_dir)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = b""
        start = last_output = time.monotonic()
        stats = {"invalid": False, "control": False}

        def deliver(data: bytes, final: bool = False) -> None:
            text = decoder.decode(data, final)
            if not text:
                return
            if "\ufffd" in text and text.count("\ufffd") > data.count(b"\xef\xbf\xbd"):
                stats["invalid"] = True
            text = text.replace("\r\n", "\n")
            if "\x1b" in text or _CONTROL.search(text):
                text = _CONTROL.sub("", _ANSI.sub("", text))
                stats["control"] = True
            if quiet:
                return
            buffer.add(text)
            if on_output is not None:
                on_output(text)

        while True:
            now = time.monotonic()
            waits = []
            if timeout is not None:
                waits.append(("timeout", start + timeout - now))
            if no_output_timeout is not None:
                waits.append(("no_output_timeout", last_output + no_output_timeout - now))
            expired = [name for name, left in waits if left <= 0]
            if expired:
                deliver(pending, final=True)
                return self._result(buffer, None, running=True, timed_out=expired[0], stats=stats)
            wait = min((left for _, left in waits), default=None)
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            try:
                data = os.read(fd, 1 << 16)
            except OSError:
                data = b""
            if not data:
                deliver(pending, final=True)
                return self._died(buffer, stats)
            last_output = time.monotonic()
            pending += data
            window_start = max(0, len(pending) - len(data) - _MARKER_WINDOW)
            match = self._marker.search(pending, window_start)
            if match:
                deliver(pending[: match.start()], final=True)
                self.cwd = match.group(2).decode("utf-8", "replace")
                self.running = False
                return self._result(buffer, int(match.group(1)), running=False, timed_out=None, stats=stats)
            # Hold back only what could be the start of a marker; stream the rest now.
            cut = pending.rfind(b"\x1e", max(0, len(pending) - _MARKER_WINDOW))
            if cut < 0:
                cut = len(pending)
            deliver(pending[:cut])
            pending = pending[cut:]

    def _result(
        self, buffer: OutputBuffer, exit_code: Optional[int], *, running: bool, timed_out: Optional[str], stats: dict
    ) -> CommandResult:
        notes = []
        if stats["invalid"]:
            notes.append("output contained invalid UTF-8, replaced with U+FFFD")
        if stats["control"]:
            notes.append("terminal control sequences were removed from the output")
        return CommandResult(
            output=buffer.text(),
            exit_code=exit_code,
            cwd=self.cwd,
            running=running,
            timed_out=timed_out,
            notes=notes,
            output_path=str(buffer.spill_path) if buffer.spill_path else None,
            total_chars=buffer.total,
        )

    def _died(self, buffer: OutputBuffer, stats: dict) -> CommandResult:
        status = None
        if self._child is not None:
            try:
                self._child.close(force=True)
            except Exception:  # noqa: BLE001
                pass
            status = self._child.exitstatus if self._child.exitstatus is not None else self._child.signalstatus
        self.running = False
        result = self._result(buffer, status, running=False, timed_out=None, stats=stats)
        result.notes.append("bash exited; the next action starts a fresh session (cwd and variables are reset)")
        return result


class SessionBusy(RuntimeError):
    """A new command was sent while the previous one is still running."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _kill_session(leader: int) -> None:
    """Kill every process in the session led by ``leader`` (bash is a session leader on its pty)."""
    victims = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == leader:  # field 6 of stat is the session id
                victims.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
