"""``agentexec-ops``: an executor plugin adding two workspace-inspection actions to the standard ones.

Installing the package registers ``OpsExecutor`` under the short name ``ops`` (see
``pyproject.toml``), so ``--executor ops`` or ``runtime_executor = "ops"`` picks it, and its
actions show up in ``agentexec actions``, in task files and as tools of the LLM agent.
"""

from __future__ import annotations

from agentexec.events import Observation
from agentexec.executors import ActionExecutor, action

__version__ = "0.1.0"


class OpsExecutor(ActionExecutor):
    """The standard actions plus ``count_lines`` and ``find_todos``."""

    @action
    def count_lines(self, path: str) -> str:
        """Count the lines of a workspace file.

        Args:
            path: file to count, relative to the workspace.
        """
        return str(len(self.resolve(path).read_text().splitlines()))

    @action
    def find_todos(self, path: str = ".", marker: str = "TODO") -> Observation:
        """List the lines that contain a marker, as file:line: text, in a file or under a directory.

        Args:
            path: file or directory to search, relative to the workspace.
            marker: the text to look for.
        """
        root = self.resolve(path)
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        hits = []
        for file in files:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except (UnicodeDecodeError, OSError):
                continue  # binary or unreadable files have no TODOs worth reporting
            name = file.relative_to(self.workspace) if file.is_relative_to(self.workspace) else file
            hits += [f"{name}:{number}: {line.strip()}" for number, line in enumerate(lines, 1) if marker in line]
        return Observation(observation="find_todos", content="\n".join(hits), extras={"count": len(hits)})
