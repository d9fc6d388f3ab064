"""The tolerant, streaming reader of agentexec event logs.

A log is read one line at a time and never held whole, so ``show`` and ``replay`` work on logs of
any length. A killed run can leave its last line cut (it was being written when the process died):
that line is dropped with a warning, because everything before it is still a faithful record. Any
other line that is not JSON or not a record is an error naming the file and line, since guessing
there would make a replay silently wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Optional

from agentexec.errors import EventFormatError, UsageError
from agentexec.eventlog import check_header
from agentexec.events import Event, from_dict


def open_log_text(path: Path, expected: str, errors: str = "strict") -> IO[str]:
    """Open a log or trajectory for reading; a missing, directory or unreadable path is one usage line."""
    try:
        return open(path, encoding="utf-8", errors=errors)
    except FileNotFoundError:
        raise UsageError(f"log {path} not found; check the path") from None
    except IsADirectoryError:
        raise UsageError(f"log {path} is a directory; give {expected}") from None
    except OSError as exc:
        raise UsageError(f"log {path} cannot be read: {exc.strerror}") from None


#: The format name of agentexec's own logs (importers name theirs).
NATIVE = "agentexec"
#: Log lines that are not events: a replay's divergence notes, a task's file transfers, and the run's final result.
NOTE_KEYS = ("divergence", "transfer")

Entry = tuple[dict[str, Any], Optional[Event]]


class LogReader:
    """Reads an agentexec log: ``header`` at once, then ``entries()`` lazily, then ``result``.

    Each entry is the record as logged (with ``seq``, ``ts`` and maybe ``phase``) and the event it
    holds, or ``None`` for a note such as a divergence. ``warnings`` collects what was tolerated.
    """

    format = NATIVE

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.result: Optional[dict[str, Any]] = None
        self._lines = self._numbered_lines()
        first = next(self._lines, None)
        if first is None:
            raise EventFormatError(f"{self.path}: the log is empty; give an event log written by agentexec run")
        number, line = first
        header = self._parse(number, line)
        if header is None:
            raise EventFormatError(f"{self.path}:1: the log has no complete header line (cut while being written)")
        self.header = check_header(header, f"{self.path}:1")

    def _numbered_lines(self) -> Iterator[tuple[int, str]]:
        handle = open_log_text(self.path, "a .jsonl event log")
        with handle:
            try:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield number, line
            except UnicodeDecodeError as exc:
                raise UsageError(f"{self.path}: not a text log ({exc.reason}); give an agentexec event log") from None

    def _parse(self, number: int, line: str) -> Optional[Any]:
        """One line's JSON; ``None`` for a cut last line, an error naming the line otherwise."""
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            if not line.endswith("\n"):
                self.warnings.append(
                    f"{self.path}:{number}: the last line is cut (the run was killed while writing it); "
                    f"using the {number - 1} lines before it"
                )
                return None
            raise EventFormatError(f"{self.path}:{number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        except RecursionError:
            raise EventFormatError(f"{self.path}:{number}: invalid JSON: nested too deeply for an event") from None

    def entries(self) -> Iterator[Entry]:
        """Each record after the header with its event; stops at a cut last line."""
        for number, line in self._lines:
            record = self._parse(number, line)
            if record is None:
                return
            if not isinstance(record, dict):
                raise EventFormatError(f"{self.path}:{number}: a log line must be a JSON object")
            if "result" in record:
                self.result = record["result"]
                continue
            if any(key in record for key in NOTE_KEYS):
                yield record, None
                continue
            try:
                event = from_dict(record)
            except EventFormatError as exc:
                raise EventFormatError(f"{self.path}:{number}: {exc}") from None
            yield record, event
