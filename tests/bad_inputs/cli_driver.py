"""Runs the real CLI entry point once per corpus file inside one interpreter, and prints the
outcomes as JSON: the start-up of a Python process (~0.6 s of CPU) paid once, not sixty times.

Usage: python -m tests.bad_inputs.cli_driver CWD ARGV_JSON...
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback


def main() -> None:
    from agentexec.cli.app import main as agentexec_main

    os.chdir(sys.argv[1])
    outcomes = []
    for argv in map(json.loads, sys.argv[2:]):
        stdout, stderr = io.StringIO(), io.StringIO()
        sys.argv = ["agentexec", *argv]
        code: object = 0
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                agentexec_main()
            except SystemExit as exc:
                code = exc.code if exc.code is not None else 0
            except BaseException:  # noqa: BLE001 - a traceback is exactly what the corpus must never see
                stderr.write(traceback.format_exc())
                code = "traceback"
        outcomes.append({"argv": argv, "exit": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()})
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main()
