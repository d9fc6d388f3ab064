"""agentexec runs AI agents' actions: an agent decides, a runtime carries, an executor performs.

Heavy modules are imported on first use so that ``import agentexec`` and ``agentexec --help``
stay fast.
"""

from __future__ import annotations

from typing import Any

from agentexec.version import __version__

__all__ = ["Action", "Observation", "__version__", "connect"]


def __getattr__(name: str) -> Any:
    if name == "connect":
        from agentexec.api import connect

        return connect
    if name in ("Action", "Observation"):
        from agentexec import events

        return getattr(events, name)
    raise AttributeError(f"module 'agentexec' has no attribute {name!r}")
