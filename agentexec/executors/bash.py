"""A persistent bash session on a pseudo-terminal, built for agents rather than for humans.

How a command runs: its text is written to a file, a runner file wraps it (``{ . FILE; } >OUT
2>&1`` and the marker machinery), and bash is sent one word, ``. RUNNER``, so no command text ever
crosses the terminal (no echo to strip, no 4 KiB line limit, no tab completion of pasted text).
The runner first announces that it has started; Ctrl-C and Ctrl-Z wait for that announcement,
because a key that signals also makes bash drop the rest of a line it is reading, and the tail of a
cut line would then run as a command of its own. Completion is detected by a prompt marker
printed by ``PROMPT_COMMAND``: a random nonce with the command's id, its exit code and the cwd.
After every command the marker machinery is re-asserted, so a command that changes ``PS1`` or
``PROMPT_COMMAND`` cannot hide the end of the next one.

Two terminals: bash's own (its controlling terminal, where input and keys travel, and where
programs writing to ``/dev/tty`` write) and an *output terminal* that a command's stdout and
stderr are pointed at, and where the marker is printed, behind the command's last byte. A
command's background jobs inherit the output terminal; when a command ends and something still
holds its output terminal, that terminal is retired to a reader thread that keeps draining it
into a log file, and the next command gets a fresh one. So a ``server &`` never blocks on a full
terminal and its later output never leaks into another command's observation. Job control is on,
so C-z stops the foreground job and gives bash back, as in a terminal.

Output is read with ``select``/``os.read`` and markers are looked for only in the newest bytes, so
a 10 MB output costs linear time; pexpect is used to spawn and signal bash, with its
human-friendly 50 ms ``delaybeforesend`` turned off. Cleaning and capping the output lives in
``output``; finding and killing the session's processes, and the watchdog that does so if this
process dies without closing it (even by SIGKILL), in ``sessionprocs``.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pexpect

from agentexec.executors.output import OutputBuffer, OutputDecoder, make_file
from agentexec.executors.sessionprocs import TAG_VARIABLE, kill_session, session_members, start_watchdog

#: Environment given to every session so that no program waits for a human or pages its output.
NON_INTERACTIVE_ENV = {
    "PAGER": "cat",
    "GIT_PAGER": "cat",
    "MANPAGER": "cat",
    "SYSTEMD_PAGER": "",
    "LESS": "-FRXd",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1",
    "PIP_PROGRESS_BAR": "off",
    "PIP_NO_INPUT": "1",
    "DEBIAN_FRONTEND": "noninteractive",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
}

#: Keys sent for the special ``is_input`` commands.
CONTROL_KEYS = {"C-c": "\x03", "C-d": "\x04", "C-z": "\x1a"}

#: Size of both terminals: wide, so that tools do not wrap or truncate lines.
ROWS, COLUMNS = 50, 200

#: How long bash may take to close the output terminal after a command before its holder counts
#: as a background process (the only cost: a command that leaves one running returns this late).
RELEASE_WAIT = 0.1

#: After this many seconds without output, a command blocked reading its terminal returns as
#: "waiting_for_input" instead of waiting for a timeout ("[y/N]" prompts, REPLs, pagers).
INPUT_WAIT = 0.5

#: System calls, by machine, in which a process waits for input: a read of arg0's fd, or a
#: select/pselect6 whose nfds (arg0) of 1 watches fd 0 only (readline in Python's REPL).
_INPUT_SYSCALLS = {
    "x86_64": {"0": "read", "23": "select", "270": "pselect6"},
    "aarch64": {"63": "read", "72": "pselect6"},
}

#: How long ``interrupt()`` waits for an interrupted command that nobody is reading to end.
INTERRUPT_WAIT = 2.0

#: The background log stops growing here; it is still drained so that writers never block.
BACKGROUND_LOG_LIMIT = 64 * 1024 * 1024

_ERREXIT = re.compile(r"(^|[\s;&|(])set\s+(-[a-zA-Z]*e[a-zA-Z]*|-o\s+errexit)\b")
# Re-asserted after every command, so that one changing them cannot hide the end of the next.
# __aex_prompt empties __aex_rc after each marker, so a command line that C-c cut short leaves it
# empty and the marker takes bash's $? (130).
# The session's own steps run inside `{ ...; } 2>/dev/null`, so `set -x` traces only the command.
_RESET = "{ __aex_rc=$? PROMPT_COMMAND='{ __aex_prompt; } 2>/dev/null' PS1= PS2= PS0=; } 2>/dev/null"
_MARKER_WINDOW = 4096 + 128  # the longest marker: two nonces, an exit code and PATH_MAX

# One nonce per process, not per session: each session has its own output terminal, so markers
# cannot cross between sessions, and the patterns are compiled once (in a batch, once in the fork
# server) instead of costing 0.7 ms per session.
_NONCE = os.urandom(8).hex()  # not `secrets`: it loads hmac and OpenSSL, 5 ms per start
_MARKER = re.compile(b"\x1e" + _NONCE.encode() + rb":(\d+):(\d+):(.*?):" + _NONCE.encode() + b"\x1e", re.S)
_START_MARKER = re.compile(b"\x1e" + _NONCE.encode() + rb"!\d+\x1e")
_RUNNER_NAME = f"aexrun{os.urandom(6).hex()}"
# What `set -x` prints for the sourcing of the runner (on bash's terminal) and of the command
# file (first on the output terminal): the traced steps that are ours, not the command's.
_RUNNER_TRACE = re.compile(rb"[^\n]{0,64}\. '?[^'\n]*/" + _RUNNER_NAME.encode() + rb"'?\n")
_SOURCE_TRACE = re.compile(rb"\A[^\n]{0,64}\. '?[^'\n]*/agentexec-bash-[^/'\n]*/command\.sh'?\n")


@dataclass
class CommandResult:
    """What came of one ``run``: the output and the state the session is left in."""

    output: str
    exit_code: Optional[int]
    cwd: str
    running: bool = False
    timed_out: Optional[str] = None  # "timeout", "no_output_timeout" or "waiting_for_input"
    notes: list[str] = field(default_factory=list)
    output_path: Optional[str] = None
    total_chars: int = 0
    background_log: Optional[str] = None


class _OutputTerminal:
    """The pty a command writes to; this process holds its slave end only while a command runs.

    Holding no slave end between commands lets a single read tell whether anyone else (a
    background job) still holds it: the kernel answers EIO to the master when nobody does.
    """

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # no "\n" -> "\r\n"
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.path = os.ttyname(slave)
        self.slave: Optional[int] = slave
        os.set_blocking(self.master, False)

    def hold(self) -> None:
        if self.slave is None:
            self.slave = os.open(self.path, os.O_RDWR | os.O_NOCTTY)

    def release(self) -> bytes | None:
        """Drop our slave end; None if nobody else holds the terminal, else what is unread.

        bash closes its end just after writing the marker, so a holder is given ``RELEASE_WAIT``
        seconds to go before it counts as a background process.
        """
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None
        deadline = time.monotonic() + RELEASE_WAIT
        while True:
            try:
                return os.read(self.master, 1 << 16)
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                select.select([self.master], [], [], left)
            except OSError:
                return None

    def close(self) -> None:
        for fd in (self.slave, self.master):
            if fd is not None:
                os.close(fd)
        self.slave = None


class _BackgroundReader:
    """Drains retired output terminals in a thread so background jobs never block on output.

    What they print goes to ``path`` (up to ``BACKGROUND_LOG_LIMIT`` bytes); a terminal is closed
    once every process holding it has closed it.
    """

    def __init__(self, directory: Path) -> None:
        handle, name = make_file(directory, "background-", ".log")
        self.path = Path(name)
        self._log = os.fdopen(handle, "wb", buffering=0)
        self._written = 0
        self._fds: set[int] = set()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def adopt(self, master: int, pending: bytes) -> None:
        with self._lock:
            self._fds.add(master)
        self._write(pending)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="agentexec-bash-background", daemon=True)
            self._thread.start()
        os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        while not self._stopped:
            with self._lock:
                fds = list(self._fds)
            ready, _, _ = select.select([self._wake_r, *fds], [], [])
            for fd in ready:
                if fd == self._wake_r:
                    os.read(fd, 512)
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    self._write(data)
                else:
                    with self._lock:
                        self._fds.discard(fd)
                    os.close(fd)

    def _write(self, data: bytes) -> None:
        with self._lock:
            data = data[: max(0, BACKGROUND_LOG_LIMIT - self._written)]
            if data:
                self._log.write(data)
                self._written += len(data)

    def close(self) -> None:
        self._stopped = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._log.close()


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
        self._tag = os.urandom(8).hex()  # marks the session's processes; not the nonce, which only markers know
        self.env = {**os.environ, **NON_INTERACTIVE_ENV, **(env or {}), TAG_VARIABLE: self._tag}
        self.max_output_chars = max_output_chars
        self.output_dir = Path(output_dir) if output_dir else Path(tempfile.gettempdir()) / "agentexec-outputs"
        self.cwd = str(cwd)
        self.running = False
        self._child: Optional[pexpect.spawn] = None
        self._out: Optional[_OutputTerminal] = None
        self._background: Optional[_BackgroundReader] = None
        self._watchdog: Optional[tuple[subprocess.Popen, int]] = None
        self._scratch = Path(tempfile.mkdtemp(prefix="agentexec-bash-", dir=_scratch_root()))
        self._script = self._scratch / "command.sh"
        self._script_fd: Optional[int] = None
        # What bash is told per command is one word: `. RUNNER`.
        self._runner = self._scratch / _RUNNER_NAME
        self._runner_fd: Optional[int] = None
        # Each command line carries an id that its marker repeats: a marker with another id comes
        # from a prompt no command of ours caused (a Ctrl-C that reached bash after a command ended).
        self._command_id = 0
        # Whether the runner has announced itself; until it has, signalling keys are held back.
        self._started = True
        self._held_keys: list[str] = []
        self._keys_lock = threading.Lock()
        self._waiting = False  # a run() is reading the current command's output
        self._cancelled = False  # an interrupt came during run() before its command was sent
        self._terminal = ""  # bash's own terminal, /dev/pts/N

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.isalive()

    def start(self) -> None:
        """Spawn bash and install the prompt marker; returns when the first prompt is seen."""
        self._scratch.mkdir(parents=True, exist_ok=True)
        # Rewritten in place for each command: on ext4, truncating on open costs milliseconds.
        self._script_fd = os.open(self._script, os.O_WRONLY | os.O_CREAT, 0o600)
        self._runner_fd = os.open(self._runner, os.O_WRONLY | os.O_CREAT, 0o600)
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
        self._terminal = _terminal_of(self._child.pid)
        self._watchdog = start_watchdog(self._child.pid, self._tag)
        self._out = _OutputTerminal()
        self.running = False
        self._command_id = 0  # a fresh bash's first marker carries id 0
        self._started, self._held_keys = True, []
        nonce = _NONCE
        setup = (
            "set -m; set +o history; unset HISTFILE; "
            f"__aex_prompt() {{ builtin printf '\\036%s:%s:%s:%s:%s\\036' {nonce} "
            f'"${{__aex_id:-0}}" "${{__aex_rc:-$?}}" "$PWD" {nonce} '
            '>"$__aex_tty"; __aex_rc=; }; '
            f"__aex_tty={_quote(self._out.path)}; {_RESET}\n"
        )
        self._child.send(setup)
        result = self._collect(timeout=30, no_output_timeout=None, on_output=None, quiet=True)
        if result.running:
            raise RuntimeError(f"bash did not start within 30 s: {result.output[-500:]!r}")

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
        for fd in (self._script_fd, self._runner_fd):
            if fd is not None:
                os.close(fd)
        self._script_fd = self._runner_fd = None
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._background is not None:
            self._background.close()
            self._background = None
        self.running = False
        shutil.rmtree(self._scratch, ignore_errors=True)

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
        notes: list[str] = []
        if not self.alive:
            if self._child is not None:
                notes.append("the previous bash session had exited; started a fresh one (cwd and variables are reset)")
            self.close()
            self.start()
        if is_input and not self.running:
            return CommandResult("", None, self.cwd, notes=notes + ["no command is running to receive input"])
        self._waiting, self._cancelled = True, False
        try:
            if is_input:
                self._send_input(command)
            elif not self._start_command(command, notes):
                return CommandResult("", 130, self.cwd, notes=notes + ["interrupted before the command started"])
            result = self._collect(timeout=timeout, no_output_timeout=no_output_timeout, on_output=on_output)
        finally:
            self._waiting = False
        result.notes[:0] = notes
        return result

    def _send_input(self, text: str) -> None:
        """Keys that signal (C-c, C-z) go to bash's terminal; text and C-d to where a reader waits."""
        assert self._child is not None
        if text in ("C-c", "C-z"):
            self._signal(text)
        elif text:
            os.write(self._input_fd(), (CONTROL_KEYS.get(text) or text + "\n").encode())

    def _start_command(self, command: str, notes: list[str]) -> bool:
        """Hand bash the command, unless an interrupt has come for it already (then False); an errexit
        command runs in a subshell so that it cannot end bash."""
        assert self._child is not None and self._out is not None
        if self.running:
            raise SessionBusy(
                "a command is still running; send input with is_input=true, "
                "an empty is_input command to wait for more output, or C-c to interrupt it"
            )
        self._drain()
        script = _quote(str(self._script))
        body = f"{{ . {script}; }}"
        if _ERREXIT.search(command):
            body = f"( . {script} )"
            notes.append("the command sets errexit, so it ran in a subshell: its state changes do not persist")
        self._write(self._script_fd, command)
        self._out.hold()
        self._command_id += 1
        setup = (
            f"{{ __aex_id={self._command_id} __aex_tty={_quote(self._out.path)}; "
            f"builtin printf '\\036%s!%s\\036' {_NONCE} {self._command_id} >\"$__aex_tty\"; }} 2>/dev/null"
        )
        self._write(self._runner_fd, f'{setup}\n{body} >"$__aex_tty" 2>&1\n{_RESET}')
        with self._keys_lock:  # a key from another thread goes before this line or is held for it
            if self._cancelled:
                return False
            self._started, self._held_keys = False, []
            self.running = True
            self._child.send(f". {_quote(str(self._runner))}\n")
        return True

    @staticmethod
    def _write(fd: Optional[int], text: str) -> None:
        """Rewrite one of the session's files in place (truncating on open costs milliseconds on ext4)."""
        assert fd is not None
        data = (text + "\n").encode("utf-8", "surrogateescape")
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))

    def interrupt(self) -> None:
        """Send Ctrl-C to whatever is running in the foreground.

        When no ``run`` is waiting for the command (the caller's own wait was what Ctrl-C cut
        short), wait here, up to ``INTERRUPT_WAIT``, for it to end, so that the next action finds
        the session idle instead of busy with a command nobody is reading.
        """
        if not self.alive:
            return
        with self._keys_lock:
            if not self.running:
                self._cancelled = self._waiting  # a run() that has not sent its command yet will not
                return
            self._send_or_hold("C-c")
        if not self._waiting:
            self._collect(timeout=INTERRUPT_WAIT, no_output_timeout=None, on_output=None, quiet=True)

    def _signal(self, key: str) -> None:
        """Send C-c or C-z now, or, while bash may still be reading the command line, once the runner
        has started (a signalling key makes bash drop the rest of the line, and its tail would run)."""
        with self._keys_lock:
            if self.running:  # else it ended meanwhile: the key would only reach bash's prompt
                self._send_or_hold(key)

    def _send_or_hold(self, key: str) -> None:
        """With the keys lock held and a command running: send ``key``, or hold it until the runner starts."""
        assert self._child is not None
        if self._started:
            self._child.send(CONTROL_KEYS[key])
        else:
            self._held_keys.append(key)

    def _on_started(self, ended: bool) -> None:
        """The runner has announced itself: send the keys held for it, unless the command already ended."""
        assert self._child is not None
        with self._keys_lock:
            self._started = True
            keys, self._held_keys = self._held_keys, []
            for key in keys if not ended else ():
                self._child.send(CONTROL_KEYS[key])

    def _input_fd(self) -> int:
        """Where typed input goes: bash's terminal, unless a program reads keys from the output terminal.

        Pagers and editors (``less``, ``vi``) read keys from the terminal they draw on, which is the
        output terminal here; a process holding it open for reading says that is where it listens.
        Signals (C-c, C-z) always go to bash's terminal, the only one with a foreground job.
        """
        assert self._child is not None and self._out is not None
        for pid in session_members(self._child.pid):
            try:
                fds = os.scandir(f"/proc/{pid}/fd")
            except OSError:
                continue
            with fds:
                for entry in fds:
                    try:
                        if entry.stat(follow_symlinks=False).st_mode & 0o400 and (
                            os.readlink(entry.path) == self._out.path
                        ):
                            return self._out.master
                    except OSError:
                        continue
        return self._child.child_fd

    # -- reading ---------------------------------------------------------------------------

    def _drain(self) -> None:
        """Discard what bash printed between commands (job reports of background jobs)."""
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
        """Read both terminals until the marker on the output terminal, a timeout, or bash's death.

        The marker travels on the output terminal, behind everything the command wrote there, so
        seeing it means the output is complete. bash's own terminal carries what programs write
        to ``/dev/tty`` and bash's job reports; it is read as it comes and once more at the end.
        """
        assert self._child is not None and self._out is not None
        main_fd, out_fd = self._child.child_fd, self._out.master
        buffer = OutputBuffer(self.max_output_chars, self.output_dir)
        stats = {"invalid": False, "control": False}
        decoders = {main_fd: OutputDecoder(stats), out_fd: OutputDecoder(stats)}
        pending = b""
        strip_trace = True
        start = last_output = next_input_check = time.monotonic()

        def deliver(fd: int, data: bytes, final: bool = False) -> None:
            text = decoders[fd](data, final)
            if text and not quiet:
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
            if not quiet:
                waits.append(("waiting_for_input", max(last_output + INPUT_WAIT, next_input_check) - now))
            expired = [name for name, left in waits if left <= 0]
            if expired == ["waiting_for_input"]:
                next_input_check = now + INPUT_WAIT
                # The marker may still be in flight when bash is back at its prompt, reading.
                if not self._waiting_for_input() or select.select([out_fd], [], [], 0.05)[0]:
                    continue
            if expired:
                deliver(out_fd, pending if self._started else b"", final=True)
                return self._result(buffer, None, running=True, timed_out=expired[0], stats=stats)
            wait = min((left for _, left in waits), default=None)
            ready, _, _ = select.select([out_fd, main_fd], [], [], wait)
            if main_fd in ready:
                data = _read(main_fd)
                if not data:
                    deliver(out_fd, pending + self._read_rest(out_fd), final=True)
                    return self._died(buffer, stats)
                last_output = time.monotonic()
                deliver(main_fd, _RUNNER_TRACE.sub(b"", data))
            if out_fd not in ready:
                continue
            data = _read(out_fd)
            if not data:
                continue
            last_output = time.monotonic()
            pending += data
            if not self._started:
                go = _START_MARKER.search(pending)
                if go is None:
                    continue
                pending = pending[go.end() :]  # before it: only stray prompts of earlier Ctrl-Cs
                self._on_started(ended=any(self._is_current(m) for m in _MARKER.finditer(pending)))
            if strip_trace and pending:
                pending, strip_trace = _SOURCE_TRACE.sub(b"", pending, count=1), False
            found = _MARKER.search(pending, max(0, len(pending) - len(data) - _MARKER_WINDOW))
            if found and not self._is_current(found):
                pending = pending[: found.start()] + pending[found.end() :]
                continue
            if found:
                deliver(out_fd, pending[: found.start()], final=True)
                deliver(main_fd, self._read_rest(main_fd), final=True)
                break
            # Hold back only what could be the start of a marker; stream the rest now.
            cut = pending.rfind(b"\x1e", max(0, len(pending) - _MARKER_WINDOW))
            if cut < 0:
                cut = len(pending)
            deliver(out_fd, pending[:cut])
            pending = pending[cut:]
        self.cwd = found.group(3).decode("utf-8", "replace")
        self.running = False
        result = self._result(buffer, int(found.group(2)), running=False, timed_out=None, stats=stats)
        self._check_output_terminal(result)
        return result

    def _is_current(self, found: re.Match[bytes]) -> bool:
        """Whether a marker ends the current command; one with an older id is the prompt of a
        Ctrl-C that reached bash after its command had ended, to be skipped."""
        return int(found.group(1)) == self._command_id

    def _waiting_for_input(self) -> bool:
        """Whether a process of the session is blocked reading one of its terminals (/proc/PID/syscall)."""
        assert self._child is not None and self._out is not None
        calls = _INPUT_SYSCALLS.get(os.uname().machine, {})
        terminals = {self._out.path, self._terminal}
        for pid in session_members(self._child.pid):
            try:
                with open(f"/proc/{pid}/syscall") as handle:
                    fields = handle.read().split()
                kind = calls.get(fields[0]) if fields else None
                if kind is None or (kind != "read" and int(fields[1], 16) != 1):
                    continue
                fd = int(fields[1], 16) if kind == "read" else 0
                if os.readlink(f"/proc/{pid}/fd/{fd}") in terminals:
                    return True
            except (OSError, ValueError, IndexError):
                continue
        return False

    @staticmethod
    def _read_rest(fd: int) -> bytes:
        """What a terminal holds right now, without waiting."""
        data = b""
        while select.select([fd], [], [], 0)[0]:
            chunk = _read(fd)
            if not chunk:
                break
            data += chunk
        return data

    def _check_output_terminal(self, result: CommandResult) -> None:
        """Retire the output terminal if background processes still hold it; see the module doc."""
        assert self._out is not None
        leftover = self._out.release()
        if leftover is None:
            return
        if self._background is None:
            self._background = _BackgroundReader(self.output_dir)
        self._background.adopt(self._out.master, leftover)
        self._out = _OutputTerminal()
        result.background_log = str(self._background.path)
        result.notes.append(
            f"processes started by this command still hold its output; what they print from now on "
            f"goes to {self._background.path}, not to later observations"
        )

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
        self.running = False
        result = self._result(buffer, exit_code, running=False, timed_out=None, stats=stats)
        result.notes.append(f"bash {how}; the next action starts a fresh session (cwd and variables are reset)")
        return result


class SessionBusy(RuntimeError):
    """A new command was sent while the previous one is still running."""


def _scratch_root() -> Optional[str]:
    """Where the session's scratch files go: /dev/shm when writable, since they are rewritten for
    every command and removed at close, which on a disk mounted with ``discard`` costs about 1 ms a
    file; else the temporary directory."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None


def _terminal_of(pid: int) -> str:
    """The terminal a process has as stdin (/dev/pts/N), or "" where procfs cannot tell."""
    try:
        return os.readlink(f"/proc/{pid}/fd/0")
    except OSError:
        return ""


def _read(fd: int) -> bytes:
    """One read from a terminal; b"" when it is closed (EIO) or has nothing after all."""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
