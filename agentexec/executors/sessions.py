"""Named bash sessions: each name is its own persistent ``BashSession``, started on first use.

An agent that starts a dev server in one shell and runs tests in another needs two shells, each
with its own cwd, environment, timeouts, ``is_input`` and interrupts. A session serves one caller
at a time: a second ``run`` on a session that another thread is using is refused at once (a clear
``SessionBusy``) instead of interleaving two readers on one terminal, while different sessions
run side by side.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Optional

from agentexec.executors.bash import BashSession, SessionBusy

DEFAULT_SESSION = "default"
#: Seconds before an interrupt is repeated to a command that is still running.
REPEAT_AFTER = 0.3
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SessionPool:
    """The executor's bash sessions by name, with a lock per session for the caller using it."""

    def __init__(self, cwd: Path, env: dict[str, str], *, max_output_chars: int, output_dir: Optional[Path]) -> None:
        self.cwd = cwd
        self.env = env
        self.max_output_chars = max_output_chars
        self.output_dir = output_dir
        self._sessions: dict[str, BashSession] = {}
        self._in_use: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return sorted(self._sessions)

    def get(self, name: str) -> BashSession:
        """The session called ``name``, started now if it does not exist yet."""
        check_name(name)
        with self._lock:
            session = self._sessions.get(name)
            if session is None:
                session = BashSession(
                    self.cwd, self.env, max_output_chars=self.max_output_chars, output_dir=self.output_dir
                )
                session.start()
                self._sessions[name] = session
                self._in_use[name] = threading.Lock()
            return session

    def acquire(self, name: str) -> tuple[BashSession, threading.Lock]:
        """The session and its (held) lock; ``SessionBusy`` when another caller is using it right now."""
        session = self.get(name)
        lock = self._in_use[name]
        if not lock.acquire(blocking=False):
            raise SessionBusy(
                f"session {name!r} is busy with another action right now; wait for it, use another "
                "session name, or interrupt it"
            )
        return session, lock

    def close_session(self, name: str) -> bool:
        """End one session and every process it started; False if there was none of that name."""
        check_name(name)
        with self._lock:
            session = self._sessions.pop(name, None)
            self._in_use.pop(name, None)
        if session is None:
            return False
        session.close()
        return True

    def interrupt(self) -> None:
        """Ctrl-C to every session with a command running (the same on every runtime).

        A Ctrl-C can miss: one that reaches bash while it is still handing its terminal to a command
        it has just forked goes to bash, not to the command; one that comes while a ``run`` holds its
        session but has not handed bash its command yet finds nothing to cut. So a session that was
        busy gets one repeat a moment later, if it then runs that same command or the one being
        handed over (never a later one).
        """
        busy = [
            (session, session.command_number)
            for name, session in list(self._sessions.items())
            if session.running or self._in_use[name].locked()
        ]
        for session in list(self._sessions.values()):
            session.interrupt()
        if busy:
            threading.Timer(REPEAT_AFTER, _repeat, args=(busy,)).start()

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
            self._in_use = {}
        for session in sessions:
            session.close()


def check_name(name: str) -> None:
    """Session names are short words, so they label output and fit in a prompt."""
    if not _NAME.match(name):
        raise ValueError(f"bad session name {name!r}: use 1-64 letters, digits, '_', '-' or '.', e.g. 'server'")


def _repeat(busy: list[tuple[BashSession, int]]) -> None:
    for session, number in busy:
        if session.running and session.command_number in (number, number + 1):
            session.interrupt()
