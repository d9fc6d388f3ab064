"""``agentexec mcp``: serve the configured executor's actions as MCP tools over stdio.

Builds the runtime with the public pieces every command uses (config loading, ``build_runtime``)
and records the session as an event log of the usual format, closed with its result line when the
client disconnects or the server is stopped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import UsageError


def serve_mcp(config: Any, log: Optional[Path], max_request_bytes: int) -> int:
    """Run the MCP server until the client disconnects; the exit code (0, or 130 when interrupted)."""
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
    try:
        runtime.start()
        recorder = Recorder([LogSink(log_path)])
        header = make_header(Task(id="mcp").model_dump(mode="json"), config.to_dict(), workspace=str(runtime.workspace))
        recorder.header(header)
        bridge = mcp_server.ToolBridge(runtime, recorder, max_request_bytes)
        started = time.monotonic()
        try:
            anyio.run(mcp_server.serve_stdio, bridge)
        except KeyboardInterrupt:
            outcome = "interrupted"
        finally:
            recorder.finish(mcp_server.session_result(bridge, started, log_path, outcome))
            print(f"agentexec mcp: event log {log_path}", file=sys.stderr)
    finally:
        runtime.close()
    return 130 if outcome == "interrupted" else 0
