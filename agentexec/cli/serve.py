"""``agentexec serve --stdio``: parse the flags, load the executor class, hand over to the server.

Runtimes start a server for every run (and after every failure), so this path avoids typer and
rich: its flags are parsed here with argparse, ``python -m agentexec serve`` comes straight here,
and the typer command only forwards its arguments. Anything that goes wrong before serving (a bad
config, an unknown executor class) is written as a protocol error on stdout for the runtime that
started us, and as one line on stderr for a human.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Optional

from agentexec.errors import UsageError
from agentexec.protocol import MAX_REQUEST_BYTES


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentexec serve",
        description="Serve the configured executor over the JSON-lines protocol on stdin/stdout.",
    )
    parser.add_argument("--stdio", action="store_true", help="speak the protocol on stdin/stdout (required)")
    parser.add_argument("--config", "-c", type=Path, help="config file (default ./agentexec.toml)")
    parser.add_argument("--executor", "-e", help="executor class path or short name")
    parser.add_argument("--workspace", "-w", type=Path, help="workspace directory")
    parser.add_argument(
        "--import-path", type=Path, action="append", default=[], help="make modules in this directory importable"
    )
    parser.add_argument(
        "--max-request-bytes", type=int, default=MAX_REQUEST_BYTES, help="longer requests get an error response"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log requests on stderr")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Parse ``argv`` and serve; the exit code (2 for bad usage or an executor that cannot load)."""
    args = parser().parse_args(argv)
    return serve(
        args.stdio, args.config, args.executor, args.workspace, args.import_path, args.max_request_bytes, args.verbose
    )


def serve(
    stdio: bool,
    config: Optional[Path],
    executor: Optional[str],
    workspace: Optional[Path],
    import_paths: list[Path],
    max_request_bytes: int,
    verbose: bool,
) -> int:
    """Serve the configured executor on stdin/stdout until EOF or ``close``."""
    from agentexec.config import flag_overrides, load_config
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
        if max_request_bytes < 1:
            raise UsageError(f"--max-request-bytes must be at least 1, got {max_request_bytes}")
        cfg = load_config(config, flag_overrides(executor=executor, workspace=workspace or None))
        add_import_paths([*import_paths, Path.cwd(), cfg.base_dir])
        cls = load_class(cfg.core.runtime_executor, "executor", BaseActionExecutor)
    except UsageError as exc:
        report_startup_error(exc)
        return 2
    serve_stdio(cfg.core.runtime_executor, cls, Path(cfg.core.workspace), dict(cfg.executor), max_request_bytes)
    return 0
