"""The commands that run tasks or show runs: ``run``, ``batch``, ``shell``, ``replay``, ``show``.

Each parses its flags and hands over to a body imported when it runs (``cli/replay.py``,
``cli/batch.py``, ``cli/shell.py``, the session pipeline), so ``agentexec --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from agentexec.cli.flags import (
    AgentOpt,
    ConfigOpt,
    ExecutorOpt,
    JsonOpt,
    LogOpt,
    RuntimeOpt,
    WorkspaceOpt,
    fail,
    load_cli_config,
    user_errors,
)

#: Each command's ``--help`` ends with these (one command line per line).
EXAMPLES = {
    "run": """\
agentexec run examples/hello/task.json
agentexec run task.json --executor ops:OpsExecutor --log run.jsonl --json
agentexec run --resume .agentexec/runs/20260101T120000000000Z-hello.jsonl""",
    "batch": """\
agentexec batch tasks/ --workers 4 --out results
agentexec batch tasks.jsonl --rerun-failed --out results
agentexec batch tasks/ --engine ray --address 127.0.0.1:6379""",
    "shell": """\
agentexec shell --workspace ws
agentexec shell --executor ops:OpsExecutor --log session.jsonl""",
    "replay": """\
agentexec replay run.jsonl --verify
agentexec replay trajectory.json --from 3 --to 9 --ignore '\\d+ ms'""",
    "show": """\
agentexec show run.jsonl
agentexec show results/summary.json
agentexec show run.jsonl --html run.html""",
}


@user_errors
def run(
    task_file: Annotated[
        Optional[Path], typer.Argument(metavar="TASK.json", help="The task file to run (with --resume: optional).")
    ] = None,
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    agent: AgentOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    log: LogOpt = None,
    json_output: JsonOpt = False,
    max_iterations: Annotated[
        Optional[int],
        typer.Option(
            "--max-iterations", min=1, metavar="N", help="Stop after N steps (default: [core] max_iterations, 100)."
        ),
    ] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option("--resume", metavar="LOG", help="Replay an interrupted run's log where it ran, then go on."),
    ] = None,
) -> None:
    """Run one task to the end, streaming its events; exit 0 if it passed, 1 if not."""
    if resume is not None:
        from agentexec.cli.replay import ResumeRequest, resume_run

        request = ResumeRequest(
            log=resume,
            task_file=task_file,
            log_out=log,
            json_output=json_output,
            config=config,
            executor=executor,
            agent=agent,
            runtime=runtime,
            workspace=workspace,
            max_iterations=max_iterations,
        )
        raise typer.Exit(resume_run(request))
    if task_file is None:
        fail("missing TASK.json: give a task file to run, or --resume LOG to continue an interrupted run")
        return
    from agentexec.assembly import build_agent, run_settings
    from agentexec.cli.json_view import make_view
    from agentexec.eventlog import new_log_path
    from agentexec.session import Session, SessionPlan
    from agentexec.tasks import load_task

    task = load_task(task_file)
    cfg = load_cli_config(config, executor, agent, runtime, workspace, max_iterations)
    chosen_workspace, limit = run_settings(cfg, task)
    log_path = str((log or new_log_path(cfg.core.log_dir, task.id)).resolve())
    plan = SessionPlan(
        cfg, chosen_workspace, log_path, env=task.env, task=task.model_dump(mode="json"), catch_sigterm=True
    )
    agent_obj = build_agent(cfg)
    with Session(plan) as session:
        result = session.run(task, agent_obj, make_view(json_output), max_iterations=limit)
    raise typer.Exit(result.exit_code)


@user_errors
def batch(
    tasks: Annotated[list[Path], typer.Argument(metavar="TASK", help="Task files, directories of them, .jsonl files.")],
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers", "-j", min=1, metavar="N", help="Tasks at a time (default: [batch] workers, else one per CPU)."
        ),
    ] = None,
    engine: Annotated[
        Optional[str],
        typer.Option(
            "--engine", metavar="local|ray", help="local (worker processes) or ray (default: [batch] engine, local)."
        ),
    ] = None,
    address: Annotated[
        Optional[str],
        typer.Option(
            "--address", metavar="HOST:PORT", help="Ray cluster address (default: [batch] address, else RAY_ADDRESS)."
        ),
    ] = None,
    num_cpus: Annotated[
        Optional[float],
        typer.Option("--num-cpus", metavar="N", help="CPUs per Ray task (default: [batch] num_cpus, 1)."),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Output directory: logs/, summary.json, report.html (default: [batch] out, ./agentexec-batch).",
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Progress as JSON-lines events on stdout.")] = False,
    rerun_failed: Annotated[bool, typer.Option("--rerun-failed", help="Re-run tasks that did not pass.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-run every task, finished or not.")] = False,
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    agent: AgentOpt = None,
    runtime: RuntimeOpt = None,
) -> None:
    """Run many tasks in parallel, each in a fresh workspace; exit 0 if all passed, 1 if not."""
    from agentexec.cli.batch import run_batch

    cfg = load_cli_config(config, executor, agent, runtime)
    out_dir = str(out.resolve()) if out else None
    flags = {"workers": workers, "engine": engine, "address": address, "num_cpus": num_cpus, "out": out_dir}
    raise typer.Exit(run_batch(cfg, tasks, flags, json_output=json_output, rerun_failed=rerun_failed, force=force))


@user_errors
def shell(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    log: LogOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Interactive loop: you are the agent; a line is a run action, /help lists the other commands."""
    from agentexec.cli.json_view import JsonLines
    from agentexec.cli.shell import start_shell
    from agentexec.cli.shell_view import ShellView

    cfg = load_cli_config(config, executor, None, runtime, workspace)
    raise typer.Exit(start_shell(cfg, log, JsonLines() if json_output else ShellView(), json_output))


@user_errors
def replay(
    log: Annotated[
        Path, typer.Argument(metavar="LOG", help="Event log, or an OpenHands, mini-swe-agent or SWE-agent trajectory.")
    ],
    config: Annotated[
        Optional[Path],
        typer.Option(
            "--config", "-c", metavar="FILE", help="Config file whose values override the log's recorded one."
        ),
    ] = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: Annotated[
        Optional[Path],
        typer.Option(
            "--workspace", "-w", metavar="DIR", help="Replay here (default: a temporary copy of the run's start)."
        ),
    ] = None,
    keep_workspace: Annotated[
        bool, typer.Option("--keep-workspace", help="Keep the temporary workspace and say where it is.")
    ] = False,
    empty_workspace: Annotated[
        bool, typer.Option("--empty-workspace", help="Start empty, not from the run's recorded start.")
    ] = False,
    log_out: Annotated[
        Optional[Path],
        typer.Option("--log", metavar="FILE", help="New event log (default: a new file in [core] log_dir)."),
    ] = None,
    json_output: JsonOpt = False,
    verify: Annotated[bool, typer.Option("--verify", help="Compare each observation; exit 1 on divergence.")] = False,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", metavar="REGEX", help="Text to ignore in comparisons.")
    ] = None,
    stop_on_divergence: Annotated[
        bool, typer.Option("--stop-on-divergence", help="Stop at the first divergence.")
    ] = False,
    start: Annotated[
        Optional[int], typer.Option("--from", min=1, metavar="SEQ", help="First action to replay (default: the first).")
    ] = None,
    stop: Annotated[
        Optional[int], typer.Option("--to", min=1, metavar="SEQ", help="Last action to replay (default: the last).")
    ] = None,
) -> None:
    """Re-execute a recorded run's actions in a fresh runtime, streaming them as run does."""
    from agentexec.cli.replay import ReplayRequest, replay_command

    request = ReplayRequest(
        log=log,
        log_out=log_out,
        json_output=json_output,
        config=config,
        executor=executor,
        runtime=runtime,
        workspace=workspace,
        verify=verify,
        ignore=ignore or [],
        stop_on_divergence=stop_on_divergence,
        start=start,
        stop=stop,
        keep_workspace=keep_workspace,
        empty_workspace=empty_workspace,
    )
    raise typer.Exit(replay_command(request))


@user_errors
def show(
    log: Annotated[
        Path,
        typer.Argument(metavar="LOG", help="Event log, trajectory, or a batch's summary.json or output directory."),
    ],
    out: Annotated[
        Optional[Path],
        typer.Argument(metavar="OUT.html", help="With --html: the page to write (default beside LOG)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Re-emit the events as normalised JSON lines.")] = False,
    html: Annotated[bool, typer.Option("--html", help="Write a self-contained HTML page instead.")] = False,
) -> None:
    """Render a recorded run (header, actions, observations, timing) or a batch's summary.json, without executing."""
    from agentexec.cli.pages import show_pages_command

    code = show_pages_command(log, out, html, json_output)
    if code is not None:
        raise typer.Exit(code)
    from agentexec.cli.replay import show_command

    raise typer.Exit(show_command(log, json_output))
