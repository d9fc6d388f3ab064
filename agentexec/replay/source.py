"""A recorded run in any format we read, and the steps (action + recorded observation) it holds.

``open_log`` looks at a file's content, never its name: JSON lines starting with an agentexec
header are our own log (streamed); a JSON list of OpenHands events or of mini-swe-agent chat
messages (or their wrappers), a SWE-agent ``.traj``, or any format a plugin registers, is imported
by the importer that claims it (``importers.py``) into the same records. Everything downstream —
``show``, ``replay``, ``--verify``, ``--resume`` — then works on one shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Protocol

from agentexec.errors import EventFormatError, UsageError
from agentexec.events import Action, Observation
from agentexec.replay.imported import ImportedRun
from agentexec.replay.importers import choose, unknown_format
from agentexec.replay.reader import Entry, LogReader, open_log_text


class RecordedRun(Protocol):
    """What every reader offers: a header, streamed entries, then the result if there was one."""

    path: Path
    format: str
    header: dict[str, Any]
    notes: list[str]
    warnings: list[str]
    result: Optional[dict[str, Any]]

    def entries(self) -> Iterator[Entry]: ...


@dataclass
class Step:
    """One recorded action and, when the log holds one, the observation it produced.

    ``started`` and ``ended`` are the wall-clock ``ts`` of the two records (None in imports without
    them): how long an action ran before it was interrupted is their difference.
    """

    seq: int
    action: Action
    recorded: Optional[Observation]
    phase: Optional[str] = None
    started: Optional[float] = None
    ended: Optional[float] = None

    @property
    def interrupted_after(self) -> Optional[float]:
        """Seconds into the action at which the run interrupted it (Ctrl-C, SIGTERM, a batch timeout); else None."""
        recorded = self.recorded
        if recorded is None or not recorded.is_error or not recorded.extras.get("interrupted"):
            return None
        if isinstance(self.started, (int, float)) and isinstance(self.ended, (int, float)):
            return max(0.0, float(self.ended) - float(self.started))
        return 0.0


def steps(entries: Iterator[Entry]) -> Iterator[Step]:
    """Pair each action with the observation caused by it; notes and stray observations are skipped."""
    pending: Optional[Step] = None
    for record, event in entries:
        if isinstance(event, Action):
            if pending is not None:
                yield pending
            pending = Step(
                seq=record.get("seq", 0),
                action=event,
                recorded=None,
                phase=record.get("phase"),
                started=record.get("ts"),
            )
        elif isinstance(event, Observation) and pending is not None and event.cause == pending.seq:
            pending.recorded, pending.ended = event, record.get("ts")
            yield pending
            pending = None
    if pending is not None:
        yield pending


def open_log(path: str | Path) -> RecordedRun:
    """Open a recorded run, detecting its format from the content."""
    file = Path(path)
    first = _first_line(file)
    parsed = _try_json(first)
    if (isinstance(parsed, dict) and "agentexec" in parsed) or first.lstrip().startswith('{"agentexec"'):
        return LogReader(file)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except RecursionError:
        raise UsageError(f"{file}: {unknown_format()}; it is JSON nested too deeply to be a trajectory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if isinstance(parsed, dict):
            return LogReader(file)  # JSON lines without a proper header: the reader names the line
        raise UsageError(f"{file}: {unknown_format()}; it is not valid JSON either ({exc})") from None
    return import_document(file, data)


def import_document(path: Path, data: Any) -> ImportedRun:
    """Convert a whole-document trajectory with the importer that claims its shape."""
    if isinstance(data, list) and not data:
        raise EventFormatError(f"{path}: the trajectory is an empty list; there is nothing to show or replay")
    importer, notes = choose(path, data)
    run = importer.load(path, data)
    run.notes[:0] = notes
    return run


def _first_line(path: Path) -> str:
    with open_log_text(path, "an event log or a trajectory file", errors="replace") as handle:
        for line in handle:
            if line.strip():
                return line
    raise UsageError(f"log {path} is empty; give an event log or a trajectory file")


def _try_json(line: str) -> Any:
    try:
        return json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
