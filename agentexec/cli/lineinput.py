"""Line input for the interactive shell: readline editing, a history file, tab completion.

Ctrl-C at the prompt raises ``KeyboardInterrupt`` as usual, but first notes what was typed
(readline clears its buffer once the signal handler raises), so the shell can tell "Ctrl-C at an
empty prompt" (end the session) from "Ctrl-C to discard a line" (a fresh prompt), as bash does.
Without readline (no module, or input from a pipe) lines are read plainly.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional


def history_file() -> Path:
    """Where the shell keeps its readline history: the user's data directory."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agentexec" / "shell_history"


class LineReader:
    """Reads lines with readline (history, editing, completion) when it is there."""

    def __init__(self, completions: Callable[[str, str], list[str]], prompt_stream: Any) -> None:
        self.prompt_stream = prompt_stream
        self.history = history_file()
        self.typed = ""  # what was on the line when Ctrl-C came
        try:
            import readline
        except ImportError:  # pragma: no cover - Python without readline
            self.readline: Any = None
            return
        self.readline = readline
        self.completions = completions
        readline.set_completer_delims(" \t\n")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        readline.set_history_length(1000)
        try:
            readline.read_history_file(self.history)
        except OSError:
            pass

    def _complete(self, text: str, index: int) -> Optional[str]:
        matches = self.completions(self.readline.get_line_buffer()[: self.readline.get_begidx()], text)
        return matches[index] if index < len(matches) else None

    def read(self, prompt: str, remember: bool = True) -> str:
        """One line; EOFError on Ctrl-D, KeyboardInterrupt on Ctrl-C."""
        if self.prompt_stream is not sys.stdout:
            self.prompt_stream.write(prompt)
            self.prompt_stream.flush()
            prompt = ""
        self.typed = ""
        length = self.readline.get_current_history_length() if self.readline is not None else 0
        previous = signal.signal(signal.SIGINT, self._on_interrupt)
        try:
            line = input(prompt)
        finally:
            signal.signal(signal.SIGINT, previous)
        if not remember and self.readline is not None and self.readline.get_current_history_length() > length:
            self.readline.remove_history_item(length)  # lines of a /write body are not commands to recall
        return line

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        """Ctrl-C at the prompt: note what was typed (readline clears it once this raises)."""
        self.typed = self.readline.get_line_buffer() if self.readline is not None else ""
        raise KeyboardInterrupt

    def save(self) -> None:
        if self.readline is None:
            return
        try:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.history)
        except OSError:
            pass
