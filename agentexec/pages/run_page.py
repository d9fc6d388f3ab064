"""The page of one run: ``agentexec show LOG --html`` and each task of a batch report.

The log is streamed through a ``Timeline`` (never loaded whole as JSON), so the cost of a page is
the steps it shows, each of which is bounded by the page's text limit: a page's size grows
linearly with the log (benchmarks/bench_pages.py measures it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from agentexec.pages.media import Media, MediaFinder, output_dir_of
from agentexec.pages.render import render, write_page
from agentexec.pages.text import Folded, fold
from agentexec.pages.timeline import StepView, Timeline
from agentexec.replay.source import RecordedRun, open_log

#: Steps per chunk of the timeline. The first chunk is live markup; each later one is inert text the
#: page's script turns into markup when it nears the viewport or in idle time after loading, so a
#: 10,000-step page opens as fast as a 100-step one (benchmarks/bench_pages.py measures both).
STEPS_PER_CHUNK = 100
PROVENANCE = (("imported", "imported from"), ("replayed_from", "replay of"), ("resumed_from", "resumes"))


@dataclass
class RunCounts:
    """What a batch report's table needs of each task's run."""

    steps: int
    errors: int
    divergences: int
    interrupts: int


def default_page_path(log: Path) -> Path:
    """``run.jsonl`` -> ``run.html`` beside it (``run.json`` -> ``run.html`` for a trajectory)."""
    return log.with_suffix(".html") if log.suffix in (".jsonl", ".json") else log.with_name(log.name + ".html")


def write_run_page(log: Path, out: Path, back_link: Optional[str] = None) -> RunCounts:
    """Render ``log`` (ours or an imported trajectory) to ``out``; returns the run's counts."""
    recorded = open_log(log)
    text, counts = render_run(recorded, out.resolve().parent, back_link)
    write_page(out, text)
    return counts


def render_run(recorded: RecordedRun, page_dir: Path, back_link: Optional[str] = None) -> tuple[str, RunCounts]:
    """The HTML of a recorded run, its images linked relative to ``page_dir``."""
    header = recorded.header
    workspace = header.get("workspace") if isinstance(header.get("workspace"), str) else None
    media = MediaFinder(output_dir_of(recorded.path), page_dir, workspace)
    timeline = Timeline(media, recorded.path.name)
    for record, _ in recorded.entries():
        timeline.add(record)
    steps = timeline.finish()
    counts = RunCounts(len(steps), timeline.errors, timeline.divergences, timeline.interrupts)
    gallery: list[Media] = media.leftovers()
    task: dict[str, Any] = header["task"] if isinstance(header.get("task"), dict) else {}
    text = render(
        "run.html.j2",
        title=f"agentexec · {task.get('id', recorded.path.name)}",
        task=task,
        instruction=fold(str(task.get("instruction") or ""), str(recorded.path)),
        facts=_facts(header, recorded),
        provenance=_provenance(header),
        config=_config_rows(header.get("config")),
        notes=list(recorded.notes) + list(recorded.warnings),
        steps=steps,
        steps_per_chunk=STEPS_PER_CHUNK,
        counts=counts,
        result=_result(recorded.result),
        imported="imported" in header,
        total_duration=_total(steps, recorded.result),
        gallery=gallery,
        back_link=back_link,
    )
    return text, counts


def _facts(header: dict[str, Any], recorded: RecordedRun) -> list[tuple[str, str]]:
    core = (header.get("config") or {}).get("core", {}) if isinstance(header.get("config"), dict) else {}
    facts = [("agentexec", str(header.get("agentexec", "")))]
    for key, label in (("runtime_executor", "executor"), ("runtime", "runtime"), ("agent", "agent")):
        if core.get(key):
            facts.append((label, str(core[key])))
    for key in ("started", "workspace"):
        if header.get(key):
            facts.append((key, str(header[key])))
    facts.append(("log", str(recorded.path)))
    return facts


def _provenance(header: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in PROVENANCE:
        origin = header.get(key)
        if isinstance(origin, dict):
            lines.append(f"{label} {origin.get('format', '')} {origin.get('path', '')}".strip())
    return lines


def _config_rows(config: Any) -> list[tuple[str, str]]:
    """The recorded configuration, flattened to ``section.key = value`` rows."""
    rows: list[tuple[str, str]] = []
    if isinstance(config, dict):
        for section, values in config.items():
            if isinstance(values, dict):
                rows += [(f"{section}.{key}", json.dumps(value, ensure_ascii=False)) for key, value in values.items()]
            else:
                rows.append((str(section), json.dumps(values, ensure_ascii=False)))
    return rows


def _result(result: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    if result is None:
        return None
    shown = dict(result)
    message: Folded = fold(str(result.get("message") or ""), "the event log's result line")
    shown["message"] = message
    shown["checks"] = [c for c in result.get("checks") or [] if isinstance(c, dict)]
    shown["verify"] = result.get("verify") if isinstance(result.get("verify"), dict) else None
    return shown


def _total(steps: list[StepView], result: Optional[dict[str, Any]]) -> Optional[float]:
    if result is not None and isinstance(result.get("duration"), (int, float)):
        return float(result["duration"])
    ends = [s.offset + (s.duration or 0.0) for s in steps if s.offset is not None]
    return max(ends) if ends else None
