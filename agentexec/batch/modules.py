"""Which of the configured classes are the user's own code, and where that code lives.

The local engine preloads these modules into its fork server; the Ray engine ships them to the
cluster as ``py_modules``, since a worker there has neither the user's project directory nor its
``sys.path``. Code installed as a package (agentexec included) is expected on the cluster already.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentexec.agents.base import Agent
from agentexec.assembly import prepare_imports
from agentexec.config import Config
from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import load_class, user_code_location
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
        location = user_code_location(cls)
        if location is None or cls.__module__ in modules:
            continue
        modules.append(cls.__module__)
        if str(location) not in paths:
            paths.append(str(location))
    return UserCode(modules, paths)
