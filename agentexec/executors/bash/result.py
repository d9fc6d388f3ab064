"""What one ``run`` returns, and the environment that keeps programs from waiting for a human."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

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
