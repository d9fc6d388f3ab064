"""The commands that describe the set-up without running anything: ``config``, ``actions``, ``plugins``."""

from __future__ import annotations

from typing import Annotated

import typer

from agentexec.cli.flags import AgentOpt, ConfigOpt, ExecutorOpt, RuntimeOpt, WorkspaceOpt, load_cli_config, user_errors


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


@user_errors
def show_config(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    agent: AgentOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print values and sources as JSON.")] = False,
) -> None:
    """Show every effective value (constructor defaults included) and where each came from."""
    from agentexec.cli.config_view import show_config_command

    show_config_command(load_cli_config(config, executor, agent, runtime, workspace), json_output)


@user_errors
def plugins(
    json_output: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Installed executors, agents and runtimes, where each comes from, and any that fail to load."""
    from agentexec.cli.plugins import show_plugins

    show_plugins(json_output)
