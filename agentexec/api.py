"""``connect()``: the Python entry point, a started runtime from configuration and overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from agentexec.assembly import build_runtime
from agentexec.config import load_config
from agentexec.runtimes.base import Runtime


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
    overrides = {
        "core.runtime": runtime,
        "core.runtime_executor": executor,
        "core.agent": agent,
        "core.workspace": str(workspace) if workspace is not None else None,
    }
    cfg = load_config(config, overrides, origin="connect()")
    rt = build_runtime(cfg)
    try:
        rt.start()
    except BaseException:
        rt.close()
        raise
    return rt
