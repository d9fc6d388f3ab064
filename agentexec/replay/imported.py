"""What an importer builds: a trajectory of another tool, converted to our records when it was read.

These pieces live apart from ``source.py`` (which picks an importer) so that importers, built-in
or plugin, depend only on this module and never on the code that chooses them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from agentexec.eventlog import LOG_FORMAT
from agentexec.events import Action, Observation, to_dict
from agentexec.replay.reader import Entry
from agentexec.version import __version__


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
