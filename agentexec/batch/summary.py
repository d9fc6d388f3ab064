"""``OUT/summary.json``: one entry per task and the totals, rewritten after every task.

Writing it atomically after each task keeps it consistent however the batch ends (done,
interrupted, or the driver killed), and makes it the record a re-run reads to skip tasks that
already finished. Statuses: ``passed``; ``failed`` (ran to its end without passing); ``error``
(raised, crashed, or timed out); ``cancelled`` (stopped by a second interrupt); ``not_run``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional

from agentexec.version import __version__

STATUSES = ("passed", "failed", "error", "cancelled", "not_run")
#: Statuses a re-run skips by default, and with ``--rerun-failed``.
FINISHED = ("passed", "failed", "error")
KEEP_ON_RERUN_FAILED = ("passed",)
#: Seconds between rewrites of summary.json while tasks finish; a driver killed outright loses at
#: most this much of it, and those tasks run again on the next resume.
SAVE_INTERVAL = 0.5


def status_of(result: dict[str, Any]) -> str:
    """A task's status from its run result."""
    if result.get("passed"):
        return "passed"
    if result["outcome"] == "cancelled":
        return "cancelled"
    if result["outcome"] in ("finished", "max_iterations"):
        return "failed"
    return "error"


def entry_of(result: dict[str, Any]) -> dict[str, Any]:
    """A summary entry: status, passed, steps, duration, error (None when passed) and log path."""
    status = status_of(result)
    checks = result.get("checks", [])
    error = None if status == "passed" else (result.get("message") or result["outcome"])
    if status == "failed" and result["outcome"] == "finished" and checks:
        error = f"check failed: {sum(not c['passed'] for c in checks)} of {len(checks)} check actions did not pass"
    return {
        "id": result["task"],
        "status": status,
        "passed": bool(result.get("passed")),
        "outcome": result["outcome"],
        "steps": result.get("steps", 0),
        "duration": round(float(result.get("duration", 0.0)), 3),
        "error": error,
        "log": result.get("log"),
        "checks": checks,
    }


def not_run(task_id: str) -> dict[str, Any]:
    return {
        "id": task_id,
        "status": "not_run",
        "passed": False,
        "outcome": "not_run",
        "steps": 0,
        "duration": 0.0,
        "error": "not run: the batch was interrupted before it started",
        "log": None,
        "checks": [],
    }


class Summary:
    """The batch's entries in task order, loaded from a previous run when there was one."""

    def __init__(self, out: Path, task_ids: list[str]) -> None:
        self.path = out / "summary.json"
        self.previous = _load(self.path)
        self.entries = {task_id: not_run(task_id) for task_id in task_ids}
        self.interrupted = False
        self.reused = 0
        self.saved_at = 0.0
        self._lines: dict[str, tuple[dict[str, Any], str]] = {}  # id -> (entry, its JSON line)

    def to_run(self, rerun_failed: bool, force: bool) -> list[str]:
        """Ids to run now; the others keep their previous entry."""
        keep = () if force else (KEEP_ON_RERUN_FAILED if rerun_failed else FINISHED)
        ids = []
        for task_id in self.entries:
            old = self.previous.get(task_id)
            if old is not None and old.get("status") in keep:
                self.entries[task_id] = old
                self.reused += 1
            else:
                ids.append(task_id)
        return ids

    def record(self, entry: dict[str, Any]) -> None:
        """Keep a finished task's entry; the file is rewritten at most every ``SAVE_INTERVAL`` seconds
        (and always at the end), so a thousand fast tasks do not rewrite it a thousand times."""
        self.entries[entry["id"]] = entry
        if time.monotonic() - self.saved_at >= SAVE_INTERVAL:
            self.save()

    def totals(self) -> dict[str, Any]:
        counts = {status: 0 for status in STATUSES}
        for entry in self.entries.values():
            counts[entry["status"]] += 1
        tasks = len(self.entries)
        # Of every task in the batch: one that was cancelled or never ran has not passed, so an
        # interrupted batch cannot read 100% with tasks left undone.
        return {"tasks": tasks, **counts, "pass_rate": round(counts["passed"] / tasks, 4) if tasks else None}

    def data(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "agentexec": __version__,
            "complete": totals["not_run"] == 0 and totals["cancelled"] == 0,
            "interrupted": self.interrupted,
            "totals": totals,
            "tasks": list(self.entries.values()),
        }

    def save(self) -> None:
        """Write atomically: a reader (or a re-run after a crash) never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".summary.json.{os.getpid()}.tmp")
        tmp.write_text(self.text(), encoding="utf-8")
        os.replace(tmp, self.path)
        self.saved_at = time.monotonic()

    def text(self) -> str:
        """``data()`` as JSON, one task per line.

        Each entry is encoded once (entries are replaced, never changed in place) and by the C
        encoder, which ``indent`` would switch off: rewriting the summary of a thousand tasks costs a
        join, not a thousand pure-Python encodings, twice a second.
        """
        data = self.data()
        tasks = data.pop("tasks")
        fields = "".join(
            f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n" for key, value in data.items()
        )
        entries = ",\n".join(f"    {self._line(entry)}" for entry in tasks)
        return "{\n" + fields + (f'  "tasks": [\n{entries}\n  ]\n' if tasks else '  "tasks": []\n') + "}\n"

    def _line(self, entry: dict[str, Any]) -> str:
        cached = self._lines.get(entry["id"])
        if cached is None or cached[0] is not entry:
            cached = (entry, json.dumps(entry, ensure_ascii=False))
            self._lines[entry["id"]] = cached
        return cached[1]


def _load(path: Path) -> dict[str, dict[str, Any]]:
    """Entries of a previous summary by id; a missing or unreadable one means start afresh."""
    try:
        data: Optional[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tasks = data.get("tasks", []) if isinstance(data, dict) else []
    return {t["id"]: t for t in tasks if isinstance(t, dict) and "id" in t and t.get("status") in STATUSES}
