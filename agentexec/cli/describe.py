"""The commands that describe the set-up without running anything: ``config``, ``actions``, ``plugins``."""

from __future__ import annotations

from typing import Annotated

import typer

from agentexec.cli.flags import AgentOpt, ConfigOpt, ExecutorOpt, RuntimeOpt, WorkspaceOpt, load_cli_config, user_errors

EXAMPLES = {
    "config": """\
agentexec config
agentexec config --executor ops:OpsExecutor --json""",
    "actions": """\
agentexec actions
agentexec actions --executor ops:OpsExecutor --json""",
    "plugins": """\
agentexec plugins
agentexec plugins --json""",
}


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
    from agentexec.cli.tables import print_table

    rows = [(spec.name, spec.signature(), spec.description.split("\n")[0]) for spec in cls.action_specs().values()]
    print_table(f"actions of {cfg.core.runtime_executor}", ("action", "arguments", "description"), rows)
    for line in missing:
        typer.echo(line)


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
