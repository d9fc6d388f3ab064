"""The commands that serve the executor to another program: ``serve`` (the stdio protocol that
non-local runtimes start) and ``mcp`` (the actions as MCP tools)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from agentexec.cli.flags import ConfigOpt, ExecutorOpt, LogOpt, RuntimeOpt, WorkspaceOpt, load_cli_config, user_errors

EXAMPLES = {
    "mcp": """\
agentexec mcp --workspace ws
agentexec mcp --http 127.0.0.1:8765 --log mcp.jsonl""",
}


def serve(ctx: typer.Context) -> None:
    """Serve the executor over the stdio protocol (what non-local runtimes start); see serve --help."""
    from agentexec.cli.serve import main as serve_main

    raise typer.Exit(serve_main(ctx.args))


@user_errors
def mcp(
    config: ConfigOpt = None,
    executor: ExecutorOpt = None,
    runtime: RuntimeOpt = None,
    workspace: WorkspaceOpt = None,
    log: LogOpt = None,
    max_request_bytes: Annotated[
        int,
        typer.Option(
            "--max-request-bytes", min=1, metavar="BYTES", help="Largest tool call arguments accepted (JSON bytes)."
        ),
    ] = 16 * 1024 * 1024,
    http: Annotated[
        Optional[str], typer.Option("--http", metavar="HOST:PORT", help="Serve Streamable HTTP instead of stdio.")
    ] = None,
    token: Annotated[
        Optional[str],
        typer.Option(
            "--token",
            envvar="AGENTEXEC_MCP_TOKEN",
            metavar="TOKEN",
            help="Bearer token for --http (default: a new one, shown when the server starts).",
        ),
    ] = None,
) -> None:
    """Serve the executor's actions as MCP tools (stdio, or --http); every call goes to the event log."""
    from agentexec.cli.mcp import serve_mcp
    from agentexec.session import raise_on_sigterm

    raise_on_sigterm()
    cfg = load_cli_config(config, executor, None, runtime, workspace)
    raise typer.Exit(serve_mcp(cfg, log, max_request_bytes, http, token))
