"""``OUT/report.html``: a batch at a glance, with a page for every task's run.

Written by ``agentexec batch`` beside ``summary.json`` whenever it ends (done or interrupted), and
again by ``agentexec show OUT/summary.json --html``. It shows the counts and pass rate, a
histogram of task durations, and a table of the tasks (sortable by any column in the browser)
whose ids link to ``OUT/pages/<id>.html``, each rendered from the task's event log. A task page
whose log has not changed since it was written is kept, so regenerating a big report is cheap.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional
from urllib.parse import quote

from agentexec.errors import UsageError
from agentexec.pages.render import render, write_page
from agentexec.pages.run_page import RunCounts, write_run_page

REPORT_NAME = "report.html"
PAGES_DIR = "pages"
#: Task pages keep their counts here, so a kept page need not be re-read from its log.
COUNTS_MARK = re.compile(rb'<meta name="agentexec-counts" content="(\d+) (\d+) (\d+) (\d+)">')
HISTOGRAM_WIDTH, HISTOGRAM_HEIGHT, MAX_BINS = 640, 120, 20


@dataclass
class TaskRow:
    entry: dict[str, Any]
    page: Optional[str]
    log: Optional[str]
    counts: Optional[RunCounts]


def load_summary(path: Path) -> dict[str, Any]:
    """A batch's ``summary.json``; anything else is one usage line saying what was expected."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{path}: cannot read the batch summary ({exc}); give OUT/summary.json of agentexec batch"
        ) from None
    if not is_summary(data):
        raise UsageError(
            f"{path}: not a batch summary (no 'totals' and 'tasks'); give OUT/summary.json of agentexec batch"
        )
    return data


def is_summary(data: Any) -> bool:
    """True for the document ``agentexec batch`` writes as ``summary.json``."""
    return isinstance(data, dict) and isinstance(data.get("totals"), dict) and isinstance(data.get("tasks"), list)


def write_batch_report(summary_path: Path, out: Optional[Path] = None) -> Path:
    """Render the report of ``summary_path`` (default ``report.html`` beside it) and each task's page."""
    data = load_summary(summary_path)
    out = (out or summary_path.with_name(REPORT_NAME)).resolve()
    pages = out.parent / PAGES_DIR
    rows = [
        _row(entry, summary_path.resolve().parent, out, pages) for entry in data["tasks"] if isinstance(entry, dict)
    ]
    durations = [
        float(r.entry.get("duration") or 0.0) for r in rows if r.entry.get("status") in ("passed", "failed", "error")
    ]
    totals = data["totals"]
    text = render(
        "report.html.j2",
        title=f"agentexec batch · {totals.get('tasks', len(rows))} tasks",
        totals=totals,
        data=data,
        rows=rows,
        histogram=histogram(durations),
        summary_link=quote(os.path.relpath(summary_path.resolve(), out.parent)),
    )
    return write_page(out, text)


def _row(entry: dict[str, Any], base: Path, report: Path, pages: Path) -> TaskRow:
    log_value = entry.get("log")
    if not isinstance(log_value, str) or not log_value:
        return TaskRow(entry, None, None, None)
    log = Path(log_value) if Path(log_value).is_absolute() else base / log_value
    if not log.is_file():
        return TaskRow(entry, None, None, None)
    page = pages / f"{_file_name(str(entry.get('id', log.stem)))}.html"
    back = quote(os.path.relpath(report, page.parent))
    counts = _kept_counts(page, log)
    if counts is None:
        try:
            counts = write_run_page(log, page, back_link=back)
        except UsageError:  # a damaged log: the table says so, the other tasks still get their pages
            return TaskRow(entry, None, quote(os.path.relpath(log, report.parent)), None)
    return TaskRow(
        entry, quote(os.path.relpath(page, report.parent)), quote(os.path.relpath(log, report.parent)), counts
    )


def _kept_counts(page: Path, log: Path) -> Optional[RunCounts]:
    """The counts of a task page written after its log last changed, or None to render it again."""
    try:
        if page.stat().st_mtime < log.stat().st_mtime:
            return None
        with open(page, "rb") as handle:
            found = COUNTS_MARK.search(handle.read(4096))
    except OSError:
        return None
    return RunCounts(*(int(n) for n in found.groups())) if found else None


def _file_name(task_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)[:120] or "task"


@dataclass
class Histogram:
    bars: list[dict[str, Any]]
    low: float
    high: float
    width: int = HISTOGRAM_WIDTH
    height: int = HISTOGRAM_HEIGHT


def histogram(durations: list[float]) -> Optional[Histogram]:
    """Task durations in equal-width bins, as SVG bar geometry; None when no task ran."""
    if not durations:
        return None
    low, high = min(durations), max(durations)
    bins = max(1, min(MAX_BINS, math.ceil(math.sqrt(len(durations)))))
    span = (high - low) or 1.0
    counts = [0] * bins
    for value in durations:
        counts[min(bins - 1, int((value - low) / span * bins))] += 1
    tallest = max(counts)
    step = HISTOGRAM_WIDTH / bins
    bars = []
    for index, count in enumerate(counts):
        height = round((HISTOGRAM_HEIGHT - 4) * count / tallest, 1)
        start, end = low + span * index / bins, low + span * (index + 1) / bins
        bars.append(
            {
                "x": round(index * step + 1, 1),
                "y": round(HISTOGRAM_HEIGHT - height, 1),
                "w": round(step - 2, 1),
                "h": height,
                "count": count,
                "start": start,
                "end": end,
            }
        )
    return Histogram(bars, low, high)
