"""Bodies of ``agentexec replay``, ``agentexec show`` and ``agentexec run --resume``.

``app.py`` keeps only the thin typer commands; the work is here, imported when one of them runs.
Each body returns the exit code. Notes about an import and warnings about a damaged log go to
stderr, so ``--json`` output on stdout stays machine-readable.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import typer

from agentexec.errors import UsageError
from agentexec.events import RECORD_KEYS, to_dict


def replay_command(
    log: Path,
    config: Optional[Path],
    executor: Optional[str],
    runtime: Optional[str],
    workspace: Optional[Path],
    log_out: Optional[Path],
    json_output: bool,
    verify: bool,
    ignore: list[str],
    stop_on_divergence: bool,
    start: Optional[int],
    stop: Optional[int],
) -> int:
    """Re-execute LOG's actions in a fresh runtime; with ``verify``, exit 1 on a divergence."""
    from agentexec.assembly import build_runtime
    from agentexec.cli.app import _spill_beside_log, check_run_paths, raise_on_sigterm
    from agentexec.eventlog import make_header, new_log_path
    from agentexec.loop import LogSink
    from agentexec.replay.runner import replay
    from agentexec.replay.verify import Verifier, compile_ignores

    if start is not None and stop is not None and start > stop:
        raise UsageError(f"--from {start} is after --to {stop}; give a range with --from <= --to")
    ignores = compile_ignores(ignore)
    recorded = open_recorded(log)
    cfg, chosen = _config(recorded.header, config, executor, runtime, workspace)
    task = recorded.header.get("task") if isinstance(recorded.header.get("task"), dict) else {}
    log_path = (log_out or new_log_path(cfg.core.log_dir, f"replay-{task.get('id', 'log')}")).resolve()
    if log_path == Path(log).resolve():
        raise UsageError(f"--log {log_out} is the log being replayed; give another path for the new log")
    check_run_paths(chosen, str(log_path))
    runtime_obj = build_runtime(cfg, workspace=chosen, env=task.get("env") or {})
    _spill_beside_log(runtime_obj, cfg.core.runtime_executor, str(log_path))
    verifier = None
    if verify:
        workspaces = [recorded.header.get("workspace"), str(runtime_obj.workspace)]
        imported = recorded.header.get("imported")
        fmt = imported.get("format", recorded.format) if isinstance(imported, dict) else recorded.format
        verifier = Verifier(workspaces, ignores, fmt)
    raise_on_sigterm()
    try:
        runtime_obj.start()
        origin = {
            "format": recorded.format,
            "path": str(Path(log).resolve()),
            "started": recorded.header.get("started"),
        }
        header = make_header(task, cfg.to_dict(), workspace=str(runtime_obj.workspace), replayed_from=origin)
        result = replay(
            recorded,
            runtime_obj,
            sinks=[LogSink(str(log_path)), _view(json_output)],
            header=header,
            verifier=verifier,
            stop_on_divergence=stop_on_divergence,
            start=start,
            stop=stop,
            log_path=str(log_path),
        )
    finally:
        runtime_obj.close()
        _warn(recorded.warnings)
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
            out.write(json.dumps({"result": recorded.result}, ensure_ascii=False) + "\n")
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


def resume_run(
    log: Path,
    task_file: Optional[Path],
    config: Optional[Path],
    executor: Optional[str],
    agent: Optional[str],
    runtime: Optional[str],
    workspace: Optional[Path],
    log_out: Optional[Path],
    json_output: bool,
    max_iterations: Optional[int],
) -> int:
    """Replay an interrupted run's executed actions in a fresh workspace, then let the agent go on."""
    from agentexec.assembly import build_agent, build_runtime, run_settings
    from agentexec.cli.app import _spill_beside_log, check_run_paths, raise_on_sigterm
    from agentexec.eventlog import make_header, new_log_path
    from agentexec.loop import LogSink, run_task
    from agentexec.replay.runner import resume_prelude
    from agentexec.tasks import load_task, parse_task

    finished = open_recorded(log, quiet=True)
    for _ in finished.entries():
        pass
    if finished.result is not None and finished.result.get("outcome") == "finished":
        raise UsageError(
            f"{log} is a finished run (outcome {finished.result.get('outcome')}); nothing to resume — "
            "use agentexec replay to re-execute it"
        )
    recorded = open_recorded(log)
    task = load_task(task_file) if task_file is not None else parse_task(recorded.header.get("task") or {}, str(log))
    cfg, chosen = _config(recorded.header, config, executor, runtime, workspace, agent, max_iterations)
    _, limit = run_settings(cfg, task)  # the step limit as run decides it; the workspace is ours
    log_path = str((log_out or new_log_path(cfg.core.log_dir, task.id)).resolve())
    check_run_paths(chosen, log_path)
    agent_obj = build_agent(cfg)
    runtime_obj = build_runtime(cfg, workspace=chosen, env=task.env)
    _spill_beside_log(runtime_obj, cfg.core.runtime_executor, log_path)
    raise_on_sigterm()
    try:
        runtime_obj.start()
        origin = {"format": recorded.format, "path": str(Path(log).resolve())}
        header = make_header(
            task.model_dump(mode="json"), cfg.to_dict(), workspace=str(runtime_obj.workspace), resumed_from=origin
        )
        result = run_task(
            task,
            agent_obj,
            runtime_obj,
            sinks=[LogSink(log_path), _view(json_output)],
            header=header,
            max_iterations=limit,
            log_path=log_path,
            prelude=resume_prelude(recorded, runtime_obj),
        )
    finally:
        runtime_obj.close()
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


def _config(
    header: dict[str, Any],
    config: Optional[Path],
    executor: Optional[str],
    runtime: Optional[str],
    workspace: Optional[Path],
    agent: Optional[str] = None,
    max_iterations: Optional[int] = None,
) -> tuple[Any, str]:
    """The recorded config with the user's overrides, and the workspace: theirs, or a fresh one."""
    from agentexec.replay.config import chose_workspace, recorded_config

    flags = {
        "core.runtime_executor": executor,
        "core.agent": agent,
        "core.runtime": runtime,
        "core.workspace": str(workspace) if workspace is not None else None,
        "core.max_iterations": max_iterations,
    }
    cfg = recorded_config(header.get("config"), config, flags)
    if chose_workspace(cfg):
        return cfg, cfg.core.workspace
    return cfg, tempfile.mkdtemp(prefix="agentexec-replay-")


def _view(json_output: bool) -> Any:
    from agentexec.cli.render import JsonLines
    from agentexec.cli.replay_view import LogView

    return JsonLines() if json_output else LogView()


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        typer.echo(f"agentexec: warning: {warning}", err=True)
