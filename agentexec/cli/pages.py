"""``agentexec show ... --html`` and ``agentexec show OUT/summary.json``: the CLI side of the pages.

The renderer lives in ``agentexec.pages``; this module only picks what to render (a run's log, or
a batch's summary, detected from the content), where to write it, and what to print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from agentexec.errors import UsageError


def show_pages_command(log: Path, out: Optional[Path], html: bool, json_output: bool) -> Optional[int]:
    """Handle ``show`` when it is about a page or a batch summary; None leaves ``log`` to the terminal view."""
    if out is not None and not html:
        raise UsageError(f"{out} names an HTML file, but --html is missing; run agentexec show {log} --html {out}")
    if html and json_output:
        raise UsageError("--html and --json cannot be combined; pick one output")
    summary = summary_of(log)
    if summary is not None:
        return _show_summary(summary, out, html, json_output)
    if not html:
        return None
    from agentexec.pages import default_page_path, write_run_page

    target = out or default_page_path(log)
    _check_target(target)
    counts = write_run_page(log, target)
    typer.echo(f"page: {target} ({counts.steps} steps, {counts.errors} errors, {_size(target)})")
    return 0


def summary_of(path: Path) -> Optional[Path]:
    """The batch summary ``path`` is (or holds, for a batch's output directory), else None."""
    if path.is_dir():
        return path / "summary.json" if (path / "summary.json").is_file() else None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
    except OSError:
        return None  # the log reader reports a missing or unreadable path in its own words
    if first.strip() != "{":  # our logs start with a one-line header; a summary is indented JSON
        return None
    from agentexec.pages.batch_report import is_summary

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return path if is_summary(data) else None


def _show_summary(summary: Path, out: Optional[Path], html: bool, json_output: bool) -> int:
    from agentexec.pages.batch_report import load_summary, write_batch_report

    if html:
        if out is not None:
            _check_target(out)
        report = write_batch_report(summary, out)
        typer.echo(f"report: {report}")
        return 0
    data: dict[str, Any] = load_summary(summary)
    if json_output:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return 0
    from rich.console import Console

    from agentexec.cli.batch import print_summary

    print_summary(Console(highlight=False), data, str(summary))
    return 0


def _check_target(target: Path) -> None:
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give --html a file path such as {target / 'run.html'}")
    if target.suffix.lower() in (".jsonl", ".json"):
        raise UsageError(f"{target} looks like a log, not a page; give --html a path ending in .html")


def _size(path: Path) -> str:
    from agentexec.pages.render import size

    return size(path.stat().st_size)
