"""``agentexec mcp``: serve the configured executor's actions as MCP tools over stdio or Streamable HTTP.

Builds the runtime with the public pieces every command uses (config loading, ``build_runtime``)
and records the session as an event log of the usual format, closed with its result line when the
client disconnects or the server is stopped.
"""

from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import UsageError


def serve_mcp(
    config: Any, log: Optional[Path], max_request_bytes: int, http: Optional[str] = None, token: Optional[str] = None
) -> int:
    """Run the MCP server until the client disconnects (stdio) or it is stopped (HTTP).

    The exit code: 0, or 130 when interrupted.
    """
    from agentexec.integrations import mcp_http

    if token is not None and not token.strip():
        raise UsageError("--token (or AGENTEXEC_MCP_TOKEN) is empty; give a token or leave it unset to generate one")
    address = mcp_http.parse_address(http) if http is not None else None
    try:
        import anyio

        from agentexec.integrations import mcp_server
    except ImportError as exc:
        raise UsageError(
            f"agentexec mcp needs the mcp extra ({exc.name} is missing): pip install 'agentexec[mcp]'"
        ) from None
    from agentexec.assembly import build_runtime
    from agentexec.eventlog import make_header, new_log_path
    from agentexec.loop import LogSink, Recorder
    from agentexec.tasks import Task

    log_path = str((log or new_log_path(config.core.log_dir, "mcp")).resolve())
    if Path(log_path).is_dir():
        raise UsageError(f"event log {log_path} is a directory; give --log a file path")
    runtime = build_runtime(config)
    outcome = "finished"
    sock = None
    try:
        sock = mcp_http.bind(*address) if address is not None else None
        runtime.start()
        recorder = Recorder([LogSink(log_path)])
        header = make_header(Task(id="mcp").model_dump(mode="json"), config.to_dict(), workspace=str(runtime.workspace))
        recorder.header(header)
        bridge = mcp_server.ToolBridge(runtime, recorder, max_request_bytes)
        started = time.monotonic()
        try:
            if sock is None:
                anyio.run(mcp_server.serve_stdio, bridge)
            else:
                secret = token or secrets.token_urlsafe(32)
                shown = "the token given" if token else f"token {secret}"
                print(f"agentexec mcp: serving {mcp_http.url_of(sock)} ({shown})", file=sys.stderr, flush=True)
                anyio.run(mcp_http.serve_http, bridge, sock, secret, max_request_bytes)
        except KeyboardInterrupt:
            outcome = "interrupted"
        finally:
            bridge.close()
            recorder.finish(mcp_server.session_result(bridge, started, log_path, outcome))
            print(f"agentexec mcp: event log {log_path}", file=sys.stderr)
    finally:
        runtime.close()
        if sock is not None:
            sock.close()
    return 130 if outcome == "interrupted" else 0
