"""A recorded run in any format we read, and the steps (action + recorded observation) it holds.

``open_log`` looks at a file's content, never its name: JSON lines starting with an agentexec
header are our own log (streamed); a JSON list of OpenHands events or of mini-swe-agent chat
messages (or their wrappers) is imported into the same records. Everything downstream — ``show``,
``replay``, ``--verify``, ``--resume`` — then works on one shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

from agentexec import __version__
from agentexec.errors import EventFormatError, UsageError
from agentexec.eventlog import LOG_FORMAT
from agentexec.events import Action, Observation, to_dict
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
class ImportedRun:
    """A trajectory of another tool, converted to our records when it was read.

    ``notes`` say what was dropped (environment events, user turns) and which actions agentexec
    does not know, so nothing disappears without a word.
    """

    path: Path
    format: str
    header: dict[str, Any]
    records: list[Entry]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    result: Optional[dict[str, Any]] = None

    def entries(self) -> Iterator[Entry]:
        return iter(self.records)


class RecordBuilder:
    """Numbers imported events as a log would, pairing each observation with its action's ``seq``."""

    def __init__(self) -> None:
        self.records: list[Entry] = []
        self.seq = 0

    def add(self, event: Action | Observation, ts: Optional[float] = None) -> int:
        self.seq += 1
        record: dict[str, Any] = {"seq": self.seq}
        if ts is not None:
            record["ts"] = ts
        record.update(to_dict(event))
        self.records.append((record, event))
        return self.seq


def imported_header(
    path: Path, fmt: str, task: dict[str, Any], workspace: Optional[str], started: Any
) -> dict[str, Any]:
    """The header an imported trajectory gets: ours, saying what it was imported from."""
    header = {"agentexec": __version__, "format": LOG_FORMAT, "task": task, "config": {}, "started": started}
    header["workspace"] = workspace
    header["imported"] = {"format": fmt, "path": str(path.resolve())}
    return header


@dataclass
class Step:
    """One recorded action and, when the log holds one, the observation it produced."""

    seq: int
    action: Action
    recorded: Optional[Observation]
    phase: Optional[str] = None


def steps(entries: Iterator[Entry]) -> Iterator[Step]:
    """Pair each action with the observation caused by it; notes and stray observations are skipped."""
    pending: Optional[Step] = None
    for record, event in entries:
        if isinstance(event, Action):
            if pending is not None:
                yield pending
            pending = Step(seq=record.get("seq", 0), action=event, recorded=None, phase=record.get("phase"))
        elif isinstance(event, Observation) and pending is not None and event.cause == pending.seq:
            pending.recorded = event
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
        raise UsageError(f"{file}: {_UNKNOWN}; it is JSON nested too deeply to be a trajectory") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if isinstance(parsed, dict):
            return LogReader(file)  # JSON lines without a proper header: the reader names the line
        raise UsageError(f"{file}: {_UNKNOWN}; it is not valid JSON either ({exc})") from None
    return import_document(file, data)


def import_document(path: Path, data: Any) -> ImportedRun:
    """Convert a whole-document trajectory, picking the importer from its shape."""
    from agentexec.replay import miniswe, openhands

    if isinstance(data, dict):
        if isinstance(data.get("messages"), list):
            return miniswe.import_trajectory(path, data["messages"], data.get("info") or {})
        for key in ("trajectory", "history"):
            if isinstance(data.get(key), list):
                return openhands.import_trajectory(path, data[key])
    if isinstance(data, list):
        if not data:
            raise EventFormatError(f"{path}: the trajectory is an empty list; there is nothing to show or replay")
        first = next((item for item in data if isinstance(item, dict)), {})
        if "role" in first:
            return miniswe.import_trajectory(path, data, {})
        if "action" in first or "observation" in first:
            return openhands.import_trajectory(path, data)
    raise UsageError(f"{path}: {_UNKNOWN}")


_UNKNOWN = (
    "not a format agentexec reads: expected an agentexec event log (JSON lines starting with a header), "
    "an OpenHands trajectory (a JSON list of events) or a mini-swe-agent trajectory (a JSON list of chat messages)"
)


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
