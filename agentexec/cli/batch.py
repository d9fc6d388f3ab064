"""``agentexec batch``: the command's work behind the thin typer declaration in ``app.py``.

Also the rich progress display and the summary table, which need a terminal library and so stay
in the CLI layer; ``agentexec.batch`` itself prints nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from agentexec.batch.discovery import discover
from agentexec.batch.jobs import config_data, make_job
from agentexec.batch.modules import user_code
from agentexec.batch.progress import Counts, JsonEvents, PlainLines, Reporter, status_line
from agentexec.batch.scheduler import Scheduler
from agentexec.batch.settings import batch_settings
from agentexec.batch.summary import Summary
from agentexec.config import Config
from agentexec.errors import TaskFileError
from agentexec.pages import write_batch_report

BAR_WIDTH = 30
STATUS_STYLES = {"passed": "green", "failed": "red", "error": "bold red", "cancelled": "yellow", "not_run": "dim"}


def run_batch(
    cfg: Config,
    task_paths: list[Path],
    flags: dict[str, Any],
    *,
    json_output: bool,
    rerun_failed: bool,
    force: bool,
) -> int:
    """Run the batch and return the exit code: 0 all passed, 1 some did not, 130 interrupted."""
    settings = batch_settings(cfg, flags)
    if settings.engine == "ray":
        # SIGTERM ends a Ray batch as Ctrl-C does (exit 130, cluster shut down); Ray's workers are
        # processes of the cluster, not children of this one, so they keep their own handlers.
        signal.signal(signal.SIGTERM, _interrupt)
    found = discover(task_paths)
    for item in found:
        if item.task.workspace and not Path(item.task.workspace).is_dir():
            raise TaskFileError(f"{item.origin}: workspace {item.task.workspace} is not a directory; fix the path")
    code = user_code(cfg)
    out = Path(settings.out).resolve()
    summary = Summary(out, [item.task.id for item in found])
    selected = set(summary.to_run(rerun_failed, force))
    shared = config_data(cfg)
    local = settings.engine == "local"
    jobs = [
        make_job(
            item.task,
            shared,
            default_timeout=settings.timeout,
            default_max_iterations=cfg.core.max_iterations,
            log_path=out / "logs" / f"{item.task.id}.jsonl",
            local=local,
            workspace_root=out / "workspaces",
        )
        for item in found
        if item.task.id in selected
    ]
    engine: Any
    if local:
        from agentexec.batch.local import LocalEngine

        engine = LocalEngine(settings.workers or os.cpu_count() or 1, code.modules)
    else:
        from agentexec.batch.ray_engine import RayEngine

        engine = RayEngine(
            settings.address,
            settings.num_cpus,
            code.paths + settings.py_modules,
            settings.workers,
            settings.connect_timeout,
        )
    reporter = _reporter(json_output)
    try:
        data = Scheduler(engine, summary, reporter).run(jobs)
    finally:
        engine.close()
    report = write_batch_report(summary.path)
    if not json_output:
        print_summary(Console(highlight=False), data, str(summary.path))
        Console(highlight=False).print(f"report: {escape(str(report))}", soft_wrap=True)
    if data["interrupted"]:
        return 130
    return 0 if data["totals"]["passed"] == data["totals"]["tasks"] else 1


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _reporter(json_output: bool) -> Reporter:
    if json_output:
        return JsonEvents()
    if sys.stdout.isatty():
        return RichProgress(Console(highlight=False))
    return PlainLines()


class RichProgress:
    """A live status line with a bar on a terminal; each finished task printed above it.

    The line is re-rendered with every task printed above it, so it is one ``Text`` (the bar drawn
    in the progress bar's theme styles) rather than a grid of a ``ProgressBar`` and a ``Text``,
    whose layout cost the driver about 2 ms of CPU per task.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.counts: Optional[Counts] = None
        self.live = Live(get_renderable=self._render, console=console, refresh_per_second=4, transient=True)

    def _render(self) -> Text:
        if self.counts is None:
            return Text("")
        filled = BAR_WIDTH * self.counts.done // max(self.counts.to_run, 1)
        line = Text()
        line.append("━" * filled, style="bar.finished" if filled == BAR_WIDTH else "bar.complete")
        line.append("━" * (BAR_WIDTH - filled), style="bar.back")
        line.append(f" {status_line(self.counts)}", style="bold")
        return line

    def start(self, counts: Counts, engine: str, workers: int, reused: int) -> None:
        self.counts = counts
        skipped = f" · {reused} already finished (skipped)" if reused else ""
        self.console.print(
            f"[bold]batch[/] · {counts.total} tasks{skipped} · running {counts.to_run} on {engine} ({workers} workers)"
        )
        self.live.start()

    def task_started(self, task_id: str, counts: Counts) -> None:
        """Nothing: the line's next refresh (4 a second) counts the task as running."""

    def task_finished(self, entry: dict[str, Any], counts: Counts, worker_seconds: Optional[float]) -> None:
        line = Text(f"{entry['status']:<9} ", style=STATUS_STYLES[entry["status"]])
        line.append(f"{entry['id']} ({entry['duration']:.2f} s)")
        if entry["error"]:
            line.append(f" · {entry['error']}", style="dim")
        self.console.print(line)

    def notice(self, message: str) -> None:
        self.console.print(Text(message, style="bold yellow"))

    def finish(self, summary: dict[str, Any], path: str) -> None:
        self.live.stop()


def print_summary(console: Console, data: dict[str, Any], path: str) -> None:
    """The per-task table, the totals, what did not run, and where the summary and logs are."""
    table = Table(title="batch summary", title_justify="left")
    for column in ("task", "status", "steps", "duration", "error"):
        table.add_column(column, overflow="fold")
    for entry in data["tasks"]:
        status = Text(entry["status"], style=STATUS_STYLES[entry["status"]])
        table.add_row(
            escape(entry["id"]), status, str(entry["steps"]), f"{entry['duration']:.2f} s", escape(entry["error"] or "")
        )
    console.print(table)
    totals = data["totals"]
    rate = "-" if totals["pass_rate"] is None else f"{totals['pass_rate']:.1%}"
    console.print(
        f"{totals['tasks']} tasks · passed {totals['passed']} · failed {totals['failed']} · error {totals['error']}"
        f" · cancelled {totals['cancelled']} · not run {totals['not_run']} · pass rate {rate}",
        soft_wrap=True,
    )
    missing = [e["id"] for e in data["tasks"] if e["status"] in ("not_run", "cancelled")]
    if missing:
        note = (
            f"did not run to the end (counted as not passed): {', '.join(missing)}"
            " (run the same command again to resume)"
        )
        console.print(Text(note, style="yellow"), soft_wrap=True)
    console.print(f"summary: {escape(path)}", soft_wrap=True)
