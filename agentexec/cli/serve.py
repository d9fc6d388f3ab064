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

DESCRIPTION = "Serve the configured executor over the JSON-lines protocol on stdin/stdout."
EXAMPLES = """\
agentexec serve --stdio --workspace ws
agentexec serve --stdio --executor ops:OpsExecutor --import-path ."""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agentexec serve", description=DESCRIPTION, add_help=False)
    parser.add_argument("--help", "-h", action="store_true", help="Show this message and exit.")
    parser.add_argument("--stdio", action="store_true", help="Speak the protocol on stdin/stdout (required).")
    parser.add_argument("--config", "-c", type=Path, metavar="FILE", help="Config file (default ./agentexec.toml).")
    parser.add_argument("--executor", "-e", metavar="CLASS", help="Executor class path or short name.")
    parser.add_argument("--workspace", "-w", type=Path, metavar="DIR", help="Workspace directory.")
    parser.add_argument(
        "--import-path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="Make modules in this directory importable.  [repeatable]",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=int,
        default=MAX_REQUEST_BYTES,
        metavar="BYTES",
        help=f"Longer requests get an error response.  [default: {MAX_REQUEST_BYTES}]",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="Log requests on stderr.")
    return parser


def help_text(parser: argparse.ArgumentParser) -> str:
    """The help in the layout of every other agentexec command (typer's): usage, description,
    options with short names first, examples."""
    import shutil
    import textwrap

    rows = []
    for action in parser._actions:  # argparse has no public list of its arguments
        names = sorted(action.option_strings, key=len)
        rows.append((", ".join(names) + (f" {action.metavar}" if action.metavar else ""), action.help or ""))
    rows.append(rows.pop(0))  # --help last, as typer lists it
    width = max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
    first = min(max(len(name) for name, _ in rows), 30) + 2
    lines = [
        "Usage: agentexec serve [OPTIONS]",
        "",
        *textwrap.wrap(DESCRIPTION, width, initial_indent="  ", subsequent_indent="  "),
    ]
    lines += ["", "Options:"]
    for name, text in rows:
        wrapped = textwrap.wrap(text, max(width - first - 4, 10)) or [""]
        if len(name) > first - 2:
            lines += [f"  {name}", *(" " * (first + 2) + part for part in wrapped)]
        else:
            lines += [f"  {name:<{first}}{wrapped[0]}", *(" " * (first + 2) + part for part in wrapped[1:])]
    lines += ["", "Examples:", *("  " + line for line in EXAMPLES.splitlines())]
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    """Parse ``argv`` and serve; the exit code (2 for bad usage or an executor that cannot load)."""
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.help:
        sys.stdout.write(help_text(arguments))
        return 0
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
