"""What every typer command shares: the common flags, one-line errors, and the config they select.

The command modules (``runs``, ``describe``, ``serving``) and the bodies they call import it; it
imports nothing of theirs, so the CLI's modules depend on each other in one direction only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

ConfigOpt = Annotated[
    Optional[Path], typer.Option("--config", "-c", metavar="FILE", help="Config file (default ./agentexec.toml).")
]
ExecutorOpt = Annotated[
    Optional[str],
    typer.Option(
        "--executor",
        "-e",
        metavar="CLASS",
        help="Executor class path or short name (default: [core] runtime_executor).",
    ),
]
AgentOpt = Annotated[
    Optional[str],
    typer.Option("--agent", "-a", metavar="CLASS", help="Agent class path or short name (default: [core] agent)."),
]
RuntimeOpt = Annotated[
    Optional[str],
    typer.Option(
        "--runtime", "-r", metavar="CLASS", help="Runtime class path or short name (default: [core] runtime)."
    ),
]
WorkspaceOpt = Annotated[
    Optional[Path],
    typer.Option("--workspace", "-w", metavar="DIR", help="Workspace directory (default: [core] workspace)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write JSON lines on stdout instead of the rich view.")]
LogOpt = Annotated[
    Optional[Path],
    typer.Option("--log", metavar="FILE", help="Event log to write (default: a new file in [core] log_dir)."),
]


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
