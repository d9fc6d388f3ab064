"""``connect()``: the Python entry point, a started runtime from configuration and overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from agentexec.config import flag_overrides, load_config
from agentexec.runtimes.base import Runtime
from agentexec.session import Session, SessionPlan


def connect(
    config: Optional[str | Path] = None,
    *,
    runtime: Optional[str] = None,
    executor: Optional[str | type] = None,
    agent: Optional[str] = None,
    workspace: Optional[str | Path] = None,
) -> Runtime:
    """A started runtime, configured as ``agentexec run`` would be; use it as a context manager.

    ``executor`` may be a class path or the class itself. ``agent`` only shapes ``rt.config``.
    """
    if isinstance(executor, type):
        executor = f"{executor.__module__}:{executor.__qualname__}"
    overrides = flag_overrides(executor=executor, agent=agent, runtime=runtime, workspace=workspace)
    cfg = load_config(config, overrides, origin="connect()")
    return Session(SessionPlan(cfg, cfg.core.workspace)).start()
