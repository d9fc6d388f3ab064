"""Building the configured runtime and agent: where the config meets class loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from agentexec.agents.base import Agent
from agentexec.config import Config
from agentexec.errors import TaskFileError
from agentexec.loading import add_import_paths, instantiate, load_class
from agentexec.options import check_executor_options, check_options
from agentexec.runtimes.base import RUN_ARGUMENTS, Runtime
from agentexec.tasks import Task


def module_dirs(config: Config) -> list[str]:
    """Where the user's modules are imported from: the current directory and the config file's."""
    return list(dict.fromkeys(str(path.resolve()) for path in (Path.cwd(), config.base_dir)))


def prepare_imports(config: Config) -> None:
    """User modules next to the config file or in the current directory become importable."""
    add_import_paths(module_dirs(config))


def build_runtime(
    config: Config,
    workspace: Optional[str] = None,
    env: Optional[dict[str, str]] = None,
    output_dir: Optional[str] = None,
) -> Runtime:
    """The ``[core] runtime`` class with ``[runtime]`` options, carrying the configured executor.

    ``output_dir`` is where the run wants spilled outputs (beside its event log); the executor
    gets it when its constructor takes one.
    """
    prepare_imports(config)
    cls = load_class(config.core.runtime, "runtime", Runtime)
    check_options(cls, config.runtime, "runtime", config.sources, supplied=RUN_ARGUMENTS)
    check_executor_options(config.core.runtime_executor, config.executor, config.sources)
    kwargs: dict[str, Any] = {
        "executor": config.core.runtime_executor,
        "executor_kwargs": config.executor,
        "workspace": workspace or config.core.workspace,
        "env": env or {},
        "output_dir": output_dir,
        "module_dirs": module_dirs(config),
        "config": config,
        **config.runtime,
    }
    runtime: Runtime = instantiate(cls, kwargs, "runtime", "[runtime]")
    return runtime


def run_settings(config: Config, task: Task) -> tuple[str, int]:
    """A run's workspace and step limit: the task file's values beat the config file's, and a flag or an
    ``AGENTEXEC_CORE_*`` variable beats the task file, since it is what the user asked for this time."""

    def chosen(key: str, task_value: Any) -> Any:
        explicit = config.explicit(f"core.{key}")
        return getattr(config.core, key) if explicit or task_value is None else task_value

    workspace = chosen("workspace", task.workspace)
    if workspace == task.workspace and not Path(workspace).exists():
        # A default workspace may be created; one a task file names is a directory the user meant to exist.
        raise TaskFileError(
            f"task {task.id!r}: workspace {workspace} does not exist; create it, fix the task's "
            "'workspace', or leave it out to use the configured one"
        )
    return workspace, chosen("max_iterations", task.max_iterations)


def build_agent(config: Config) -> Agent:
    """The ``[core] agent`` class with ``[agent]`` options."""
    prepare_imports(config)
    cls = load_class(config.core.agent, "agent", Agent)
    check_options(cls, config.agent, "agent", config.sources)
    agent: Agent = instantiate(cls, dict(config.agent), "agent", "[agent]")
    return agent
