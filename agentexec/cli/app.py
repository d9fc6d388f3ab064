"""``agentexec``: the typer application, its commands registered from the modules that define them.

The commands live by idea in ``runs`` (run, batch, shell, replay, show), ``describe`` (config,
actions, plugins) and ``serving`` (serve, mcp); their shared flags and error handling are in
``flags``. Each command imports what it needs only when it runs, so ``agentexec --help`` is fast.
Every command turns a ``UsageError`` into one line on stderr and exit code 2, so bad input never
shows a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from agentexec.cli import describe, runs, serving
from agentexec.cli.help import Command, Group
from agentexec.version import __version__

app = typer.Typer(
    name="agentexec",
    help="Run AI agents' actions: an agent decides, a runtime carries, an executor performs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=Group,
)


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


def register(function: Callable[..., Any], examples: str, name: Optional[str] = None, **settings: Any) -> None:
    """Add a command whose help lists ``examples``."""
    app.command(name, cls=Command, epilog=examples or None, **settings)(function)


register(runs.run, runs.EXAMPLES["run"])
register(runs.batch, runs.EXAMPLES["batch"])
register(runs.shell, runs.EXAMPLES["shell"])
register(runs.replay, runs.EXAMPLES["replay"])
register(runs.show, runs.EXAMPLES["show"])
register(describe.show_config, describe.EXAMPLES["config"], name="config")
register(describe.actions, describe.EXAMPLES["actions"])
register(describe.plugins, describe.EXAMPLES["plugins"])
# serve parses its own flags (argparse, so runtimes start it without typer) and prints its own --help
register(
    serving.serve,
    "",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
register(serving.mcp, serving.EXAMPLES["mcp"])


def main() -> None:
    """Console-script entry point; click's own usage errors get the one-line form of every other bad input."""
    try:
        code = app(standalone_mode=False, prog_name="agentexec")
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
