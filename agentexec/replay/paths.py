"""Mapping a recorded workspace onto the replay's, so a replay never writes where the log was made.

A log records absolute paths of the workspace it ran in (OpenHands always ``/workspace``); replayed
as is, ``mkdir -p /workspace/app`` would write outside the new workspace, or fail. Every string
argument of a replayed action has the recorded workspace replaced by the new one, on path
boundaries only (``/workspace2`` and ``/data/workspace`` are left alone).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Optional

from agentexec.events import Action

#: Characters that may continue a path component; a workspace match must not be followed by one.
_PATH_CHAR = r"[\w.\-~]"


def path_pattern(path: str) -> re.Pattern[str]:
    """A regex matching ``path`` as a whole path or a path prefix, not inside a longer name."""
    return re.compile(rf"(?<!{_PATH_CHAR}|/){re.escape(path.rstrip('/'))}(?!{_PATH_CHAR})")


class PathMap:
    """Rewrites an action's string arguments from the recorded workspace to the new one."""

    def __init__(self, recorded: Optional[str], workspace: Path) -> None:
        self.target = str(workspace)
        self.pattern: Optional[re.Pattern[str]] = None
        if recorded and recorded.rstrip("/") and recorded.rstrip("/") != self.target.rstrip("/"):
            self.pattern = path_pattern(recorded)

    def action(self, action: Action) -> Action:
        if self.pattern is None:
            return action
        return action.model_copy(update={"args": self._map(action.args)})

    def _map(self, value: Any) -> Any:
        if isinstance(value, str):
            assert self.pattern is not None
            return self.pattern.sub(lambda _: self.target, value)
        if isinstance(value, dict):
            return {key: self._map(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._map(item) for item in value]
        return value
