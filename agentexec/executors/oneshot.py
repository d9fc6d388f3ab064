"""One-shot ``exec``: an argv run without the bash session, stdout and stderr kept apart.

This is what evaluation harnesses want (Inspect's ``exec``, SWE-ReX's ``execute``): no shell
state, no terminal, bytes on stdin, exit code and both streams. The process leads a session of
its own, so when the timeout fires the whole tree goes: SIGTERM to every member, then SIGKILL
after ``KILL_GRACE`` seconds, a process that ignores signals included; every process that
shares the session (``&``, ``nohup``) is found through /proc, not only the process group.
Each stream is capped like ``run``'s output, the full text spilled to a file.
"""

from __future__ import annotations

import codecs
import os
import pwd
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Optional

from agentexec.executors.output import OutputBuffer
from agentexec.executors.sessionprocs import session_members

#: Seconds between SIGTERM and SIGKILL when a timeout ends a process tree.
KILL_GRACE = 0.5
_READ_SIZE = 1 << 16


@dataclass
class ExecResult:
    """What one ``exec`` produced."""

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool
    stdout_chars: int
    stderr_chars: int
    stdout_path: Optional[str] = None
    stderr_path: Optional[str] = None
    invalid_utf8: bool = False


class UnknownUser(LookupError):
    """``user`` names no account where the executor runs."""


class _Capture:
    """One output pipe's text: decoded as it comes, capped and spilled like ``run``'s output."""

    def __init__(self, pipe: Optional[IO[bytes]], limit: int, spill_dir: Path) -> None:
        assert pipe is not None
        self.fd = pipe.fileno()
        self.buffer = OutputBuffer(limit, spill_dir)
        self.invalid = False
        self.at_eof = False
        self._pipe = pipe
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def add(self, chunk: bytes) -> None:
        text = self._decoder.decode(chunk)
        if "\ufffd" in text and text.count("\ufffd") > chunk.count(b"\xef\xbf\xbd"):
            self.invalid = True
        self.buffer.add(text)

    def finish(self) -> None:
        self.buffer.add(self._decoder.decode(b"", True))
        self._pipe.close()


def run_argv(
    argv: list[str],
    *,
    stdin: Optional[bytes | Path] = None,
    env: dict[str, str],
    cwd: Path,
    timeout: Optional[float],
    user: Optional[str],
    max_output_chars: int,
    spill_dir: Path,
    on_start: Optional[Callable[[subprocess.Popen[bytes]], None]] = None,
) -> ExecResult:
    """Run ``argv`` to its end or its timeout; ``stdin`` is bytes or a file to read them from."""
    if not argv:
        raise ValueError("exec needs a non-empty argv, e.g. ['ls', '-la']")
    identity = _identity(user)
    if not cwd.is_dir():
        raise NotADirectoryError(f"exec: cwd {cwd} is not a directory")
    stdin_file: Optional[IO[bytes]] = open(stdin, "rb") if isinstance(stdin, Path) else None  # noqa: SIM115
    try:
        process = subprocess.Popen(
            argv,
            stdin=stdin_file or (subprocess.PIPE if stdin is not None else subprocess.DEVNULL),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
            **identity,
        )
    except FileNotFoundError as exc:
        raise FileNotFoundError(exc.errno, f"cannot run {argv[0]!r}: {exc.strerror}") from None
    except PermissionError as exc:
        raise PermissionError(exc.errno, f"cannot run {argv[0]!r}: {exc.strerror}") from None
    finally:
        if stdin_file is not None:
            stdin_file.close()
    if on_start is not None:
        on_start(process)
    streams = [
        _Capture(process.stdout, max_output_chars, spill_dir),
        _Capture(process.stderr, max_output_chars, spill_dir),
    ]
    feeder = None
    if isinstance(stdin, bytes):
        feeder = threading.Thread(target=_feed, args=(process, stdin), daemon=True, name="exec-stdin")
        feeder.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    timed_out = not _collect(process, streams, deadline)
    if timed_out:
        kill_tree(process)
        _collect(process, streams, time.monotonic() + 2)  # what the tree wrote before it went
    for stream in streams:
        stream.finish()
    if feeder is not None:
        feeder.join(timeout=1)
    out, err = streams
    return ExecResult(
        stdout=out.buffer.text(),
        stderr=err.buffer.text(),
        exit_code=_shell_status(process.returncode),
        timed_out=timed_out,
        stdout_chars=out.buffer.total,
        stderr_chars=err.buffer.total,
        stdout_path=str(out.buffer.spill_path) if out.buffer.spill_path else None,
        stderr_path=str(err.buffer.spill_path) if err.buffer.spill_path else None,
        invalid_utf8=out.invalid or err.invalid,
    )


def _shell_status(returncode: Optional[int]) -> int:
    """The exit status as a shell reports it: 128 + N for a process killed by signal N."""
    if returncode is None:
        return 128 + signal.SIGKILL
    return 128 - returncode if returncode < 0 else returncode


def _identity(user: Optional[str]) -> dict[str, Any]:
    """Popen's user/group arguments for ``user``: none when it is who we are already."""
    if user is None:
        return {}
    try:
        entry = pwd.getpwuid(int(user)) if user.isdecimal() else pwd.getpwnam(user)
    except (KeyError, ValueError):
        raise UnknownUser(f"exec: unknown user {user!r}; give an existing user name or uid") from None
    if entry.pw_uid == os.geteuid():
        return {}
    if os.geteuid() != 0:
        raise PermissionError(f"exec: cannot run as {user!r}: this executor runs as uid {os.geteuid()}, not root")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    """Write stdin in a thread of its own, so a process that prints before reading never deadlocks."""
    assert process.stdin is not None
    try:
        view = memoryview(data)
        for start in range(0, len(view), _READ_SIZE):
            process.stdin.write(view[start : start + _READ_SIZE])
        process.stdin.close()
    except (BrokenPipeError, OSError, ValueError):
        pass


def _collect(process: subprocess.Popen[bytes], streams: list[_Capture], deadline: Optional[float]) -> bool:
    """Read both pipes until they close and wait for the process; False when the deadline came first.

    One selector in the calling thread watches the pipes and, through a pidfd, the process's exit:
    no reader threads to start and no polling ``wait``, which cost milliseconds a call. A
    background child may still hold a pipe: the call lasts until it lets go, as a shell's would.
    """
    exit_fd = _pidfd(process)
    exited = exit_fd is None  # without a pidfd, the wait below is the only one
    try:
        with selectors.DefaultSelector() as selector:
            for stream in streams:
                if not stream.at_eof:
                    selector.register(stream.fd, selectors.EVENT_READ, stream)
            if exit_fd is not None:
                selector.register(exit_fd, selectors.EVENT_READ, None)
            while not exited or any(not stream.at_eof for stream in streams):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                for key, _ in selector.select(left):
                    if key.data is None:
                        exited = True
                        selector.unregister(key.fd)
                    elif chunk := os.read(key.fd, _READ_SIZE):
                        key.data.add(chunk)
                    else:
                        key.data.at_eof = True
                        selector.unregister(key.fd)
    finally:
        if exit_fd is not None:
            os.close(exit_fd)
    try:
        process.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _pidfd(process: subprocess.Popen[bytes]) -> Optional[int]:
    """A descriptor that becomes readable when the process exits (Linux 5.3+), else None."""
    if process.returncode is not None:  # reaped: its pid may belong to another process by now
        return None
    try:
        return os.pidfd_open(process.pid)
    except (AttributeError, OSError):
        return None


def kill_tree(process: subprocess.Popen[bytes], grace: float = KILL_GRACE) -> None:
    """SIGTERM the process's whole session, SIGKILL what is left after ``grace`` seconds, reap it."""
    sid = process.pid
    for pid in [sid, *session_members(sid)]:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process.poll() is not None and not session_members(sid):
            break
        time.sleep(0.01)
    for _ in range(3):
        members = session_members(sid)
        if process.poll() is None:
            members.append(sid)
        if not members:
            break
        for pid in members:
            _signal(pid, signal.SIGKILL)
        time.sleep(0.01)
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        pass


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass
