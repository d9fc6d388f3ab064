"""Which of the configured classes are the user's own code, and where that code lives.

The local engine preloads these modules into its fork server; the Ray engine ships them to the
cluster as ``py_modules``, since a worker there has neither the user's project directory nor its
``sys.path``. Code installed as a package (agentexec included) is expected on the cluster already.
"""

from __future__ import annotations

import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from agentexec.agents.base import Agent
from agentexec.assembly import prepare_imports
from agentexec.config import Config
from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import load_class
from agentexec.runtimes.base import Runtime


@dataclass
class UserCode:
    """Module names to preload, and the files or package directories to ship."""

    modules: list[str]
    paths: list[str]


def user_code(config: Config) -> UserCode:
    """Load the configured classes (so a bad class path fails before any task runs) and find user code."""
    prepare_imports(config)
    classes = [
        load_class(config.core.runtime_executor, "executor", BaseActionExecutor),
        load_class(config.core.agent, "agent", Agent),
        load_class(config.core.runtime, "runtime", Runtime),
    ]
    modules: list[str] = []
    paths: list[str] = []
    for cls in classes:
        top = sys.modules[cls.__module__.partition(".")[0]]
        if _installed(top) or cls.__module__ in modules:
            continue
        modules.append(cls.__module__)
        path = _location(top)
        if path not in paths:
            paths.append(path)
    return UserCode(modules, paths)


def _location(module: ModuleType) -> str:
    """A package's directory, or a single module's file."""
    locations = getattr(module, "__path__", None)
    if locations:
        return str(Path(next(iter(locations))).resolve())
    return str(Path(module.__file__ or "").resolve())


def _installed(module: ModuleType) -> bool:
    if module.__name__ == "agentexec" or not getattr(module, "__file__", None):
        return True
    file = Path(module.__file__ or "").resolve()
    roots = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    return any(file.is_relative_to(Path(root).resolve()) for root in roots)
