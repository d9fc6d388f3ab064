"""``agentexec shell``'s named bash sessions: ``/session NAME`` switches where plain lines go.

Each name is its own persistent bash session in the executor (``run``'s ``session`` argument),
started on its first command, so a dev server can run in one while tests run in another. The
shell keeps what its prompt shows per session (cwd, last exit code, whether a command is still
running and taking input) and swaps it in on a switch; ``/session`` alone lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Protocol

from agentexec.events import Action, Observation

DEFAULT = "default"
#: The names the executor's sessions accept (``executors.sessions``), checked before anything is sent.
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class PromptState(Protocol):
    """The shell's attributes that belong to one session."""

    cwd: str
    exit_code: Optional[int]
    waiting: bool


@dataclass
class SessionState:
    cwd: str
    exit_code: Optional[int] = None
    waiting: bool = False


class ShellSessions:
    """Which session is current, and each one's prompt state while another is shown."""

    def __init__(self, workspace: str) -> None:
        self.workspace = workspace
        self.current = DEFAULT
        self.saved: dict[str, SessionState] = {}
        self.names = [DEFAULT]

    def tag(self, act: Action) -> Action:
        """A ``run`` action without a session goes to the current one."""
        if act.action != "run" or "session" in act.args or self.current == DEFAULT:
            return act
        return act.model_copy(update={"args": {**act.args, "session": self.current}})

    def switch(self, shell: PromptState, name: str) -> str:
        """Make ``name`` current (saving the shell's state of the one before); what to tell the user."""
        if not NAME.match(name):
            raise ValueError(f"bad session name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if name == self.current:
            return f"already in session {name!r}"
        self.saved[self.current] = SessionState(shell.cwd, shell.exit_code, shell.waiting)
        state = self.saved.pop(name, None)
        new = state is None
        state = state or SessionState(self.workspace)
        shell.cwd, shell.exit_code, shell.waiting = state.cwd, state.exit_code, state.waiting
        self.current = name
        if new and name not in self.names:
            self.names.append(name)
            return f"session {name!r}: a new bash session, started on its first command"
        return f"session {name!r}" + (" (a command is still running: lines are its input)" if state.waiting else "")

    def listing(self) -> str:
        return "sessions: " + ", ".join(f"{name}{' (current)' if name == self.current else ''}" for name in self.names)

    def closed(self, shell: PromptState, act: Action, observation: Observation) -> None:
        """After ``close_session``: that session starts afresh, at the workspace, on its next command."""
        if act.action != "close_session" or observation.is_error:
            return
        name = str(act.args.get("session", ""))
        self.saved.pop(name, None)
        if name == self.current:
            shell.cwd, shell.exit_code, shell.waiting = self.workspace, None, False

    def label(self) -> str:
        """What the prompt shows: the session's name once there is more than one."""
        return f"({self.current}) " if len(self.names) > 1 else ""
