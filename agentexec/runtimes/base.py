"""The ``Runtime`` interface: how actions travel from the loop to an executor and back.

A runtime is started, executes actions one at a time (streaming partial output to an optional
callback as it is produced), can interrupt the running action, and is closed. Runtimes differ in
where the executor lives: in this process (``local``) or behind the stdio protocol elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Optional

from agentexec.events import Action, Observation
from agentexec.executors.base import OutputCallback

__all__ = ["RUN_ARGUMENTS", "OutputCallback", "Runtime"]

#: ``Runtime``'s own arguments: the run passes them (``assembly.build_runtime``); they are not
#: ``[runtime]`` options, which are the launcher's (``host``, ``image``, ``restart``...).
RUN_ARGUMENTS = frozenset({"executor", "executor_kwargs", "workspace", "env", "output_dir", "module_dirs", "config"})


class Runtime(ABC):
    """Carries actions to one executor.

    Args:
        executor: class path (or short name) of the executor to build.
        executor_kwargs: its constructor's keyword arguments (the ``[executor]`` table).
        workspace: the executor's workspace directory.
        env: environment variables for the executor's processes.
        output_dir: where the run wants the executor's spilled outputs (beside its event log);
            given to executors whose constructor takes ``output_dir`` and whose options do not
            name one already.
        module_dirs: this machine's directories the user's modules are imported from (the
            current directory, the config file's); a launcher on this machine passes them on.
        config: the configuration the runtime was built from, for callers to inspect (``rt.config``).
    """

    def __init__(
        self,
        executor: str = "agentexec.executors:ActionExecutor",
        executor_kwargs: Optional[dict[str, Any]] = None,
        workspace: str | Path = ".",
        env: Optional[dict[str, str]] = None,
        *,
        output_dir: Optional[str] = None,
        module_dirs: Optional[list[str]] = None,
        config: Any = None,
    ) -> None:
        self.executor_path = executor
        self.executor_kwargs = dict(executor_kwargs or {})
        self.workspace = Path(workspace).resolve()
        self.env = dict(env or {})
        self.output_dir = output_dir
        self.module_dirs = [str(path) for path in module_dirs or []]
        self.config = config

    @abstractmethod
    def start(self) -> None:
        """Build and set up the executor; after this, ``execute`` may be called."""

    @abstractmethod
    def execute(self, action: Action | dict[str, Any], on_output: Optional[OutputCallback] = None) -> Observation:
        """Perform one action and return its observation; partial output goes to ``on_output``."""

    @abstractmethod
    def interrupt(self) -> None:
        """Stop the running action, as Ctrl-C would; safe to call when nothing runs."""

    @abstractmethod
    def action_schemas(self) -> list[dict[str, Any]]:
        """The executor's actions as tool schemas (name, description, JSON Schema parameters)."""

    # File transfer: bytes in and out of the executor's filesystem, wherever it lives. Relative
    # paths are relative to the executor's workspace; errors keep their kind (``PathNotFound``
    # is a ``FileNotFoundError``, ``PathPermissionDenied`` a ``PermissionError``...).

    def read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        """A file's bytes; ``FileTooLarge`` when it is bigger than ``limit``."""
        raise NotImplementedError(f"the {type(self).__name__} runtime does not transfer files")

    def write_file(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        """Write a whole file (parents created); a read-only target is refused, hard links are kept."""
        raise NotImplementedError(f"the {type(self).__name__} runtime does not transfer files")

    def upload(self, local: str | Path, remote: str) -> None:
        """Copy a local file, or a directory's content, to ``remote``; modes are kept."""
        raise NotImplementedError(f"the {type(self).__name__} runtime does not transfer files")

    def download(self, remote: str, local: str | Path) -> None:
        """Copy ``remote`` (a file, or a directory's content) to ``local``; modes are kept."""
        raise NotImplementedError(f"the {type(self).__name__} runtime does not transfer files")

    @abstractmethod
    def close(self) -> None:
        """Tear the executor down and free every resource; safe to call more than once."""

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
