"""What the ``sandbox`` runtime applies by default beyond bubblewrap's view of the filesystem.

- **Limits**: a cgroup with a process-count and a memory limit (``pids_limit``, ``memory_limit``),
  so a fork bomb or a runaway allocation stops inside the sandbox (``runtimes.cgroup``). Limits
  left at their defaults are applied where the machine allows and skipped with a warning
  elsewhere; a limit set explicitly that cannot be applied is an error.
- **Secrets**: host environment variables named like ``[core] secret_env`` are unset inside
  (``bwrap --unsetenv``); a task's own ``env`` still passes what it names explicitly.
- **Confinement**: file actions are confined to the workspace
  (``[executor] confine_to_workspace``, default true here) when the executor accepts the option.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from agentexec.errors import ClassLoadError, ConfigError, RuntimeFailure
from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import load_class
from agentexec.runtimes import cgroup
from agentexec.secrets import secret_names

log = logging.getLogger("agentexec.runtimes.sandbox")

DEFAULT_PIDS_LIMIT = 1024
DEFAULT_MEMORY_LIMIT = "4G"
CONFINE_OPTION = "confine_to_workspace"


def check_limits(pids_limit: Any, memory_limit: Any) -> None:
    """Refuse a limit that is not a count or a size when the runtime is built, before anything starts."""
    if pids_limit is not None and (not isinstance(pids_limit, int) or isinstance(pids_limit, bool) or pids_limit < 0):
        raise ConfigError(f"[runtime] pids_limit = {pids_limit!r}: give a whole number of processes (0 for none)")
    if memory_limit is not None:
        try:
            cgroup.parse_size(memory_limit)
        except ValueError as exc:
            raise ConfigError(f"[runtime] {exc}") from None


def create_limits(pids_limit: Optional[int], memory_limit: Optional[int | str]) -> Optional[cgroup.Limits]:
    """The sandbox's cgroup, or None where defaults cannot be applied (explicit limits must be)."""
    explicit = pids_limit is not None or memory_limit is not None
    pids = DEFAULT_PIDS_LIMIT if pids_limit is None else int(pids_limit)
    memory = DEFAULT_MEMORY_LIMIT if memory_limit is None else memory_limit
    if not pids and not cgroup.parse_size(memory):
        return None
    try:
        return cgroup.create(pids, memory)
    except cgroup.CgroupUnavailable as exc:
        if explicit:
            raise RuntimeFailure(
                f"the sandbox cannot apply [runtime] pids_limit/memory_limit: {exc}; "
                "run as root, delegate a cgroup to this user, or set both limits to 0"
            ) from None
        log.warning("sandbox runs without pids and memory limits: %s", exc)
        return None


def unset_secrets(environ: Mapping[str, str], patterns: Iterable[str], passed: Mapping[str, str]) -> list[str]:
    """bubblewrap options that keep the host's secret variables out, except those passed explicitly."""
    args: list[str] = []
    for name in secret_names(environ, patterns):
        if name not in passed:
            args += ["--unsetenv", name]
    return args


def secret_patterns(config: Any) -> Optional[list[str]]:
    """``[core] secret_env`` of a runtime's config, None when it has none (the defaults apply)."""
    core = getattr(config, "core", None)
    return getattr(core, "secret_env", None)


def confine_by_default(executor_path: str, executor_kwargs: dict[str, Any]) -> None:
    """Turn confinement on unless the config chose, when the executor class (loadable here) accepts it."""
    if CONFINE_OPTION in executor_kwargs:
        return
    try:
        cls = load_class(executor_path, "executor", BaseActionExecutor)
    except ClassLoadError:
        return  # importable only inside: it gets what its own defaults say
    if CONFINE_OPTION in inspect.signature(cls).parameters:
        executor_kwargs[CONFINE_OPTION] = True
