"""The ``process`` runtime: the executor in a child process of this same Python interpreter.

It isolates the executor's crashes, memory and blocking calls from the loop, costs well under a
millisecond per action, and is how the protocol is exercised without any sandboxing. The user's
module directories (the current directory and the config file's) are passed as import paths, so a
custom executor next to ``agentexec.toml`` works here exactly as under ``local``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agentexec.runtimes.remote import RemoteRuntime


class ProcessRuntime(RemoteRuntime):
    """Runs ``python -m agentexec serve --stdio`` as a subprocess and talks to it."""

    def command(self, serve_args: list[str]) -> list[str]:
        return [sys.executable, "-m", "agentexec", *serve_args]

    def server_import_paths(self) -> list[str]:
        paths = [*self.import_paths, str(Path.cwd()), *self.module_dirs]
        return list(dict.fromkeys(str(Path(p).resolve()) for p in paths))
