"""``agentexec``: typer commands, each importing what it needs only when it runs.

Every command turns a ``UsageError`` into one line on stderr and exit code 2, so bad input never
shows a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from agentexec import __version__

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="agentexec",
    help="Run AI agents' actions: an agent decides, a runtime carries, an executor performs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="Config file (default ./agentexec.toml).")]
ExecutorOpt = Annotated[Optional[str], typer.Option("--executor", "-e", help="Executor class path or short name.")]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", "-a", help="Agent class path or short name.")]
RuntimeOpt = Annotated[Optional[str], typer.Option("--runtime", "-r", help="Runtime class path or short name.")]
WorkspaceOpt = Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write JSON lines on stdout instead of the rich view.")]


def fail(message: str, code: int = 2) -> None:
    """Print one error line on stderr and exit."""
    typer.echo(f"agentexec: error: {message}", err=True)
    raise typer.Exit(code)


def user_errors(func: F) -> F:
    """Turn bad user input into one line and exit code 2; Ctrl-C into exit code 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agentexec.errors import UsageError

        try:
            return func(*args, **kwargs)
        except UsageError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            typer.echo("agentexec: interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def load_cli_config(
    config: Optional[Path],
    executor: Optional[str] = None,
    agent: Optional[str] = None,
    runtime: Optional[str] = None,
    workspace: Optional[Path] = None,
    max_iterations: Optional[int] = None,
) -> Any:
    """The effective configuration with this command's flags on top."""
    from agentexec.config import flag_overrides, load_config

    overrides = flag_overrides(
        executor=executor, agent=agent, runtime=runtime, workspace=workspace, max_iterations=max_iterations
    )
    return load_config(config, overrides)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"agentexec {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Run AI agents' actions: an agent decides, a runtime carries, an executor performs."""


@app.command()
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
    log: Annotated[Optional[Path], typer.Option("--log", help="Event log path (default under log_dir).")] = None,
    json_output: JsonOpt = False,
    max_iterations: Annotated[
        Optional[int], typer.Option("--max-iterations", min=1, help="Stop after N steps.")
    ] = None,
    resume: Annotated[
        Optional[Path],
        typer.Option("--resume", help="Replay an interrupted run's log where it ran, then go on."),
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
    from agentexec.cli.render import make_view
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


@app.command()
@user_errors
def replay(
    log: Annotated[Path, typer.Argument(metavar="LOG", help="Event log or OpenHands/mini-swe-agent trajectory.")],
    config: Annotated[
        Optional[Path], typer.Option("--config", "-c", help="Config file whose values override the log's recorded one.")
    ] = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: Annotated[
        Optional[Path],
        typer.Option("--workspace", "-w", help="Replay here (default: a temporary copy of the run's start)."),
    ] = None,
    keep_workspace: Annotated[
        bool, typer.Option("--keep-workspace", help="Keep the temporary workspace and say where it is.")
    ] = False,
    empty_workspace: Annotated[
        bool, typer.Option("--empty-workspace", help="Start empty, not from the run's recorded start.")
    ] = False,
    log_out: Annotated[
        Optional[Path], typer.Option("--log", help="New event log path (default under log_dir).")
    ] = None,
    json_output: JsonOpt = False,
    verify: Annotated[bool, typer.Option("--verify", help="Compare each observation; exit 1 on divergence.")] = False,
    ignore: Annotated[
        Optional[list[str]], typer.Option("--ignore", metavar="REGEX", help="Text to ignore in comparisons.")
    ] = None,
    stop_on_divergence: Annotated[
        bool, typer.Option("--stop-on-divergence", help="Stop at the first divergence.")
    ] = False,
    start: Annotated[Optional[int], typer.Option("--from", min=1, help="First action to replay (its seq).")] = None,
    stop: Annotated[Optional[int], typer.Option("--to", min=1, help="Last action to replay (its seq).")] = None,
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


@app.command()
@user_errors
def show(
    log: Annotated[
        Path,
        typer.Argument(metavar="LOG", help="Event log, trajectory, or a batch's summary.json or output directory."),
    ],
    out: Annotated[
        Optional[Path],
        typer.Argument(metavar="[OUT.html]", help="With --html: the page to write (default beside LOG)."),
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


@app.command()
@user_errors
def actions(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the actions' JSON Schemas.")] = False,
) -> None:
    """List the configured executor's actions with their arguments."""
    import json

    from agentexec.assembly import prepare_imports
    from agentexec.executors.base import BaseActionExecutor
    from agentexec.loading import load_class

    cfg = load_cli_config(config, executor)
    prepare_imports(cfg)
    cls = load_class(cfg.core.runtime_executor, "executor", BaseActionExecutor)
    from agentexec.executors.extras import missing_message

    missing = [missing_message(name, extra) for name, extra in cls.missing_extras().items()]
    if json_output:
        typer.echo(json.dumps(cls.action_schemas(), indent=2))
        for line in missing:  # stdout stays the JSON list
            typer.echo(line, err=True)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"actions of {cfg.core.runtime_executor}", title_justify="left")
    for column in ("action", "arguments", "description"):
        table.add_column(column)
    for spec in cls.action_specs().values():
        table.add_row(*(escape(text) for text in (spec.name, spec.signature(), spec.description.split("\n")[0])))
    Console().print(table)
    for line in missing:
        Console().print(escape(line), highlight=False)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def serve(ctx: typer.Context) -> None:
    """Serve the executor over the stdio protocol (what non-local runtimes start); see serve --help."""
    from agentexec.cli.serve import main as serve_main

    raise typer.Exit(serve_main(ctx.args))


@app.command("config")
@user_errors
def show_config(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    agent: AgentOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print values and sources as JSON.")] = False,
) -> None:
    """Show the effective configuration and where each value came from."""
    import json

    cfg = load_cli_config(config, executor, agent, runtime, workspace)
    rows = cfg.rows()
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "file": str(cfg.file) if cfg.file else None,
                    "values": [{"key": k, "value": v, "source": s} for k, v, s in rows],
                },
                indent=2,
            )
        )
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"config file: {cfg.file or 'none found'}", title_justify="left")
    for column in ("key", "value", "source"):
        table.add_column(column)
    for key, value, source in rows:
        table.add_row(escape(key), escape(value if isinstance(value, str) else repr(value)), escape(source))
    Console().print(table)


@app.command()
@user_errors
def shell(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    log: Annotated[Optional[Path], typer.Option("--log", help="Event log path (default under log_dir).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Interactive loop: you are the agent; a line is a run action, /help lists the other commands."""
    from agentexec.cli.shell import start_shell

    cfg = load_cli_config(config, executor, None, runtime, workspace)
    from agentexec.cli.render import make_view

    raise typer.Exit(start_shell(cfg, log, make_view(json_output), json_output))


@app.command()
@user_errors
def plugins(
    json_output: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Installed executors, agents and runtimes, where each comes from, and any that fail to load."""
    from agentexec.cli.plugins import show_plugins

    show_plugins(json_output)


@app.command()
@user_errors
def batch(
    tasks: Annotated[list[Path], typer.Argument(metavar="TASKS", help="Task files, directories, .jsonl files.")],
    workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1, help="Tasks at a time.")] = None,
    engine: Annotated[Optional[str], typer.Option("--engine", help="local (worker processes) or ray.")] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster address (else RAY_ADDRESS).")] = None,
    num_cpus: Annotated[Optional[float], typer.Option("--num-cpus", help="CPUs per Ray task.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory (logs, summary.json).")] = None,
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


@app.command()
@user_errors
def mcp(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    log: Annotated[Optional[Path], typer.Option("--log", help="Event log path (default under log_dir).")] = None,
    max_request_bytes: Annotated[
        int, typer.Option("--max-request-bytes", min=1, help="Largest tool call arguments accepted (JSON bytes).")
    ] = 16 * 1024 * 1024,
    http: Annotated[
        Optional[str], typer.Option("--http", metavar="HOST:PORT", help="Serve Streamable HTTP instead of stdio.")
    ] = None,
    token: Annotated[
        Optional[str],
        typer.Option("--token", envvar="AGENTEXEC_MCP_TOKEN", help="Bearer token for --http (generated if unset)."),
    ] = None,
) -> None:
    """Serve the executor's actions as MCP tools (stdio, or --http); every call goes to the event log."""
    from agentexec.cli.mcp import serve_mcp
    from agentexec.session import raise_on_sigterm

    raise_on_sigterm()
    cfg = load_cli_config(config, executor, None, runtime, workspace)
    raise typer.Exit(serve_mcp(cfg, log, max_request_bytes, http, token))


def main() -> None:
    """Console-script entry point; click's own usage errors get the one-line form of every other bad input."""
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.TyperException as exc:
        message, ctx = exc.format_message(), getattr(exc, "ctx", None)
        if "\n" in message:  # the help text, shown when no arguments are given
            typer.echo(message, err=True)
        else:
            hint = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
            typer.echo(f"agentexec: error: {message.rstrip('.')}{hint}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:  # end of input at a prompt, which click's standalone mode reports as "Aborted!"
        typer.echo("agentexec: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
