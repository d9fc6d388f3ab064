"""Bodies of ``agentexec replay``, ``agentexec show`` and ``agentexec run --resume``.

``app.py`` keeps only the thin typer commands; the work is here, imported when one of them runs.
Each command's flags arrive as one typed request; each body returns the exit code and runs
through the same ``Session`` as ``agentexec run``. Notes about an import and warnings about a
damaged log go to stderr, so ``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from agentexec.errors import UsageError
from agentexec.eventlog import result_record
from agentexec.events import RECORD_KEYS, to_dict
from agentexec.outcomes import Outcome

if TYPE_CHECKING:
    from agentexec.replay.workspace import Prepared


@dataclass(frozen=True)
class ReplayRequest:
    """``agentexec replay``'s flags."""

    log: Path
    log_out: Optional[Path] = None
    json_output: bool = False
    config: Optional[Path] = None
    executor: Optional[str] = None
    runtime: Optional[str] = None
    workspace: Optional[Path] = None
    verify: bool = False
    ignore: list[str] = field(default_factory=list)
    stop_on_divergence: bool = False
    start: Optional[int] = None
    stop: Optional[int] = None
    keep_workspace: bool = False
    empty_workspace: bool = False


@dataclass(frozen=True)
class ResumeRequest:
    """``agentexec run --resume``'s flags."""

    log: Path
    task_file: Optional[Path] = None
    log_out: Optional[Path] = None
    json_output: bool = False
    config: Optional[Path] = None
    executor: Optional[str] = None
    agent: Optional[str] = None
    runtime: Optional[str] = None
    workspace: Optional[Path] = None
    max_iterations: Optional[int] = None


def replay_command(request: ReplayRequest) -> int:
    """Re-execute the log's actions in a fresh runtime; with ``verify``, exit 1 on a divergence."""
    from agentexec.config import flag_overrides
    from agentexec.eventlog import new_log_path
    from agentexec.replay.config import chose_workspace, recorded_config
    from agentexec.replay.runner import replay
    from agentexec.replay.verify import Verifier, compile_ignores
    from agentexec.replay.workspace import for_replay
    from agentexec.session import Session, SessionPlan
    from agentexec.task_files import TaskFiles

    start, stop = request.start, request.stop
    if start is not None and stop is not None and start > stop:
        raise UsageError(f"--from {start} is after --to {stop}; give a range with --from <= --to")
    ignores = compile_ignores(request.ignore)
    recorded = open_recorded(request.log)
    flags = flag_overrides(executor=request.executor, runtime=request.runtime, workspace=request.workspace)
    cfg = recorded_config(recorded.header.get("config"), request.config, flags)
    task = recorded.header.get("task") if isinstance(recorded.header.get("task"), dict) else {}
    log_path = (request.log_out or new_log_path(cfg.core.log_dir, f"replay-{task.get('id', 'log')}")).resolve()
    if log_path == Path(request.log).resolve():
        raise UsageError(f"--log {request.log_out} is the log being replayed; give another path for the new log")
    origin = {
        "format": recorded.format,
        "path": str(Path(request.log).resolve()),
        "started": recorded.header.get("started"),
    }
    chosen = cfg.core.workspace if chose_workspace(cfg) else None
    workspace = for_replay(recorded, chosen, request.empty_workspace)
    _note(request.log, workspace.notes)
    plan = SessionPlan(
        cfg,
        workspace.path,
        str(log_path),
        env=task.get("env") or {},
        task=task,
        header_extra={"replayed_from": origin},
        catch_sigterm=True,
        start=workspace.start,
    )
    verifier = None
    if request.verify:
        workspaces = [recorded.header.get("workspace"), str(Path(workspace.path).resolve())]
        imported = recorded.header.get("imported")
        fmt = imported.get("format", recorded.format) if isinstance(imported, dict) else recorded.format
        verifier = Verifier(workspaces, ignores, fmt)
    try:
        with Session(plan) as session:
            files = TaskFiles.recorded(task, session.started, plan.output_dir)
            result = replay(
                recorded,
                session.started,
                sinks=session.sinks(_view(request.json_output)),
                header=session.header(),
                verifier=verifier,
                stop_on_divergence=request.stop_on_divergence,
                start=start,
                stop=stop,
                log_path=str(log_path),
                stage=files,
            )
    finally:
        _warn(recorded.warnings)
        _clean_up(workspace, request.keep_workspace)
    return result.exit_code


def show_command(log: Path, json_output: bool) -> int:
    """Render LOG without executing anything; ``--json`` re-emits it as normalised agentexec events."""
    recorded = open_recorded(log)
    if json_output:
        out = sys.stdout
        out.write(json.dumps(recorded.header, ensure_ascii=False) + "\n")
        for record, event in recorded.entries():
            if event is not None:
                record = {**{key: record[key] for key in RECORD_KEYS if key in record}, **to_dict(event)}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if recorded.result is not None:
            out.write(json.dumps(result_record(recorded.result), ensure_ascii=False) + "\n")
    else:
        from agentexec.cli.replay_view import LogView
        from agentexec.replay.reader import NATIVE

        view = LogView()
        view.header(recorded.header)
        for record, _ in recorded.entries():
            view.record(record)
        if recorded.format == NATIVE:
            view.recorded_result(recorded.result)
    _warn(recorded.warnings)
    return 0


def resume_run(request: ResumeRequest) -> int:
    """Replay an interrupted run's executed actions where it ran (from its recorded start), then let the agent go on."""
    from agentexec.assembly import build_agent, run_settings
    from agentexec.config import flag_overrides
    from agentexec.eventlog import new_log_path
    from agentexec.replay.config import chose_workspace, recorded_config
    from agentexec.replay.runner import resume_prelude
    from agentexec.replay.workspace import for_resume
    from agentexec.session import Session, SessionPlan
    from agentexec.tasks import load_task, parse_task

    log = request.log
    finished = open_recorded(log, quiet=True)
    for _ in finished.entries():
        pass
    if finished.result is not None and finished.result.get("outcome") == Outcome.FINISHED:
        raise UsageError(
            f"{log} is a finished run (outcome {finished.result.get('outcome')}); nothing to resume — "
            "use agentexec replay to re-execute it"
        )
    recorded = open_recorded(log)
    task_file = request.task_file
    task = load_task(task_file) if task_file is not None else parse_task(recorded.header.get("task") or {}, str(log))
    flags = flag_overrides(
        executor=request.executor,
        agent=request.agent,
        runtime=request.runtime,
        workspace=request.workspace,
        max_iterations=request.max_iterations,
    )
    cfg = recorded_config(recorded.header.get("config"), request.config, flags)
    _, limit = run_settings(cfg, task)  # the step limit as run decides it
    log_path = str((request.log_out or new_log_path(cfg.core.log_dir, task.id)).resolve())
    origin = {"format": recorded.format, "path": str(Path(log).resolve())}
    chosen = cfg.core.workspace if chose_workspace(cfg) else None
    workspace = for_resume(recorded, chosen, excluded=[Path(cfg.core.log_dir)])
    _note(log, workspace.notes)
    plan = SessionPlan(
        cfg,
        workspace.path,
        log_path,
        env=task.env,
        task=task.model_dump(mode="json"),
        header_extra={"resumed_from": origin},
        catch_sigterm=True,
        start=workspace.start,
    )
    agent_obj = build_agent(cfg)
    try:
        with Session(plan) as session:
            prelude = resume_prelude(recorded, session.started)
            result = session.run(task, agent_obj, _view(request.json_output), max_iterations=limit, prelude=prelude)
    finally:
        _warn(recorded.warnings)
    return result.exit_code


def open_recorded(log: Path, quiet: bool = False) -> Any:
    """Open a log or trajectory, telling the user what an importer dropped or could not map."""
    from agentexec.replay.source import open_log

    recorded = open_log(log)
    if not quiet:
        for note in recorded.notes:
            typer.echo(f"agentexec: note: {log}: {note}", err=True)
    return recorded


def _clean_up(workspace: Prepared, keep: bool) -> None:
    """Remove the replay's temporary workspace, or say where it is when asked to keep it."""
    if not workspace.temporary:
        return
    if keep:
        typer.echo(f"agentexec: the replay's workspace is kept at {workspace.path}", err=True)
    else:
        shutil.rmtree(workspace.path, ignore_errors=True)


def _note(log: Path, notes: list[str]) -> None:
    for note in notes:
        typer.echo(f"agentexec: note: {log}: {note}", err=True)


def _view(json_output: bool) -> Any:
    from agentexec.cli.json_view import JsonLines
    from agentexec.cli.replay_view import LogView

    return JsonLines() if json_output else LogView()


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.echo(f"agentexec: warning: {warning}", err=True)
