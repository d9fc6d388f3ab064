"""Building an executor: the one place that turns a class and its options into a set-up executor.

The local runtime calls it in this process and ``agentexec serve`` calls it where a remote
runtime runs the executor, so an executor is made the same way everywhere: the workspace and
environment of the run, the ``[executor]`` table's options, and, for a class that takes
``output_dir``, the directory the run chose for spilled outputs (beside its event log). The
options reach the constructor here, so a check of them against its type hints belongs here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import accepted_arguments, instantiate, set_up

#: Where a run wants big outputs to go; given only to executors whose constructor takes it.
OUTPUT_DIR = "output_dir"
#: What the run gives every executor itself; not ``[executor]`` options (``output_dir`` is one: the user's wins).
RUN_ARGUMENTS = frozenset({"workspace", "env"})


def executor_arguments(
    cls: type[BaseActionExecutor],
    *,
    workspace: Path,
    env: dict[str, str],
    options: dict[str, Any],
    output_dir: Optional[str] = None,
) -> dict[str, Any]:
    """The constructor's keyword arguments: the run's workspace and env, the options, and ``output_dir``.

    An ``output_dir`` in the options (the user's choice) wins over the run's; an executor that
    does not take one keeps its constructor unchanged rather than failing on an argument it never
    asked for.
    """
    arguments: dict[str, Any] = {"workspace": workspace, "env": env, **options}
    if output_dir is not None and OUTPUT_DIR not in arguments and OUTPUT_DIR in accepted_arguments(cls):
        arguments[OUTPUT_DIR] = output_dir
    return arguments


def build_executor(
    cls: type[BaseActionExecutor],
    executor_path: str,
    *,
    workspace: Path,
    env: dict[str, str],
    options: dict[str, Any],
    output_dir: Optional[str] = None,
) -> BaseActionExecutor:
    """A set-up executor of ``cls``; a bad option or a failing ``setup`` raises one line naming the class.

    The action specs are built first, so a handler whose signature cannot be checked fails before a
    bash session or anything else is started.
    """
    cls.action_specs()
    arguments = executor_arguments(cls, workspace=workspace, env=env, options=options, output_dir=output_dir)
    executor: BaseActionExecutor = instantiate(cls, arguments, "executor", "[executor]")
    set_up(executor, "executor", executor_path)
    return executor
