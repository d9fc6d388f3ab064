"""``agentexec serve --stdio``: set up logging and the executor class, then hand over to the server.

Anything that goes wrong before serving (a bad config, an unknown executor class) is written as a
protocol error on stdout for the runtime that started us, and as one line on stderr for a human.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

from agentexec.errors import UsageError


def serve(
    stdio: bool,
    config: Optional[Path],
    executor: Optional[str],
    workspace: Optional[Path],
    import_paths: list[Path],
    max_request_bytes: int,
    verbose: bool,
) -> int:
    """Serve the configured executor on stdin/stdout; the exit code (2 when it cannot start)."""
    from agentexec.assembly import prepare_imports
    from agentexec.cli.app import load_cli_config
    from agentexec.executors.base import BaseActionExecutor
    from agentexec.loading import add_import_paths, load_class
    from agentexec.server import report_startup_error, serve_stdio

    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if verbose else logging.WARNING,
        format="agentexec serve[%(process)d] %(levelname)s %(message)s",
    )
    try:
        if not stdio:
            raise UsageError("serve needs a transport: agentexec serve --stdio (the only one so far)")
        cfg = load_cli_config(config, executor, workspace=workspace)
        prepare_imports(cfg)
        add_import_paths(import_paths)
        cls = load_class(cfg.core.runtime_executor, "executor", BaseActionExecutor)
    except UsageError as exc:
        report_startup_error(exc)
        return 2
    serve_stdio(cfg.core.runtime_executor, cls, Path(cfg.core.workspace), dict(cfg.executor), max_request_bytes)
    return 0
