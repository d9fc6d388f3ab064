"""``--json``'s view: every event as one JSON line on stdout, with no rich loaded.

Kept apart from ``render`` so that a run whose output is JSON (scripts, batch drivers, replay
with ``--json``) never pays for importing rich.
"""

from __future__ import annotations

import json
import sys
from typing import IO, TYPE_CHECKING, Any

from agentexec.eventlog import result_record
from agentexec.loop import RunResult

if TYPE_CHECKING:
    from agentexec.cli.render import RichView


class JsonLines:
    """``--json``: every event, output chunks included, as one JSON line each on stdout."""

    def __init__(self, stream: IO[str] = sys.stdout) -> None:
        self.stream = stream

    def _write(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.stream.flush()

    def header(self, header: dict[str, Any]) -> None:
        self._write(header)

    def record(self, record: dict[str, Any]) -> None:
        self._write(record)

    def finish(self, result: RunResult) -> None:
        self._write(result_record(result.to_dict()))


def make_view(json_output: bool) -> RichView | JsonLines:
    """The sink that shows a run: ``--json`` lines on stdout, else the rich view."""
    if json_output:
        return JsonLines()
    from agentexec.cli.render import RichView

    return RichView()
