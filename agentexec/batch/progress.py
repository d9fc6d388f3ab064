"""Progress reports of a batch without a terminal: plain lines, or JSON-lines events (``--json``).

The rich terminal display lives in ``agentexec.cli.batch``; all three take the same calls, so the
scheduler never knows how it is shown.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, Optional, Protocol


@dataclass
class Counts:
    """Where the batch stands; ``eta`` extrapolates from the tasks finished in this run."""

    total: int
    to_run: int
    started_at: float = field(default_factory=time.monotonic)
    done: int = 0
    running: int = 0
    passed: int = 0
    failed: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    @property
    def pass_rate(self) -> Optional[float]:
        return self.passed / self.done if self.done else None

    @property
    def eta(self) -> Optional[float]:
        if not self.done:
            return None
        return self.elapsed / self.done * (self.to_run - self.done)


class Reporter(Protocol):
    """Receives the batch's progress as it happens.

    ``worker_seconds`` is the time the worker spent on a task (workspace, runtime, loop), when it
    returned; the difference to the wall time is what the engine costs.
    """

    def start(self, counts: Counts, engine: str, workers: int, reused: int) -> None: ...

    def task_started(self, task_id: str, counts: Counts) -> None: ...

    def task_finished(self, entry: dict[str, Any], counts: Counts, worker_seconds: Optional[float]) -> None: ...

    def notice(self, message: str) -> None: ...

    def finish(self, summary: dict[str, Any], path: str) -> None: ...


def duration(seconds: Optional[float]) -> str:
    """``1:02:03`` or ``2:03``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_line(counts: Counts) -> str:
    rate = "-" if counts.pass_rate is None else f"{counts.pass_rate:.0%}"
    return (
        f"{counts.done}/{counts.to_run} done · {counts.running} running · {counts.failed} failed · "
        f"pass rate {rate} · elapsed {duration(counts.elapsed)} · ETA {duration(counts.eta)}"
    )


class PlainLines:
    """One line per finished task and per notice: readable in a log file or a CI console."""

    def __init__(self, stream: IO[str] = sys.stdout) -> None:
        self.stream = stream

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, counts: Counts, engine: str, workers: int, reused: int) -> None:
        reused_note = f", {reused} already finished (skipped)" if reused else ""
        self._print(
            f"batch: {counts.total} tasks{reused_note}; running {counts.to_run} on {engine} ({workers} workers)"
        )

    def task_started(self, task_id: str, counts: Counts) -> None:
        """Nothing: a line per start would double the output without telling much."""

    def task_finished(self, entry: dict[str, Any], counts: Counts, worker_seconds: Optional[float]) -> None:
        error = f" · {entry['error']}" if entry["error"] else ""
        where = f"[{counts.done}/{counts.to_run}]"
        self._print(f"{where} {entry['status']} {entry['id']} ({entry['duration']:.2f} s){error}")
        self._print(f"  {status_line(counts)}")

    def notice(self, message: str) -> None:
        self._print(message)

    def finish(self, summary: dict[str, Any], path: str) -> None:
        """Nothing: the summary table follows."""


class JsonEvents:
    """``--json``: one JSON object per line: start, task_start, task_end, notice, end."""

    def __init__(self, stream: IO[str] = sys.stdout) -> None:
        self.stream = stream

    def _write(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data, ensure_ascii=False) + "\n")
        self.stream.flush()

    def _counts(self, counts: Counts) -> dict[str, Any]:
        return {
            "done": counts.done,
            "running": counts.running,
            "failed": counts.failed,
            "passed": counts.passed,
            "to_run": counts.to_run,
            "elapsed": round(counts.elapsed, 3),
            "eta": None if counts.eta is None else round(counts.eta, 3),
        }

    def start(self, counts: Counts, engine: str, workers: int, reused: int) -> None:
        self._write({"event": "start", "tasks": counts.total, "skipped": reused, "engine": engine, "workers": workers})

    def task_started(self, task_id: str, counts: Counts) -> None:
        self._write({"event": "task_start", "task": task_id, **self._counts(counts)})

    def task_finished(self, entry: dict[str, Any], counts: Counts, worker_seconds: Optional[float]) -> None:
        seconds = None if worker_seconds is None else round(worker_seconds, 4)
        self._write(
            {
                "event": "task_end",
                "task": entry["id"],
                "entry": entry,
                "worker_seconds": seconds,
                **self._counts(counts),
            }
        )

    def notice(self, message: str) -> None:
        self._write({"event": "notice", "message": message})

    def finish(self, summary: dict[str, Any], path: str) -> None:
        self._write({"event": "end", "summary": path, "totals": summary["totals"], "complete": summary["complete"]})
