"""The ``local`` runtime: the executor lives in this process; the fastest and simplest path."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Optional

from agentexec import transfer
from agentexec.events import Action, Observation, as_action
from agentexec.executors.base import BaseActionExecutor, request_path
from agentexec.executors.construction import build_executor
from agentexec.loading import add_import_paths, load_class
from agentexec.runtimes.base import OutputCallback, Runtime

log = logging.getLogger(__name__)


class LocalRuntime(Runtime):
    """Runs the executor in-process; its actions run as this user on this machine."""

    executor: Optional[BaseActionExecutor] = None

    def start(self) -> None:
        add_import_paths(self.module_dirs)
        cls = load_class(self.executor_path, "executor", BaseActionExecutor)
        self.executor = build_executor(
            cls,
            self.executor_path,
            workspace=self.workspace,
            env=self.env,
            options=self.executor_kwargs,
            output_dir=self.output_dir,
        )

    def execute(self, action: Action | dict[str, Any], on_output: Optional[OutputCallback] = None) -> Observation:
        if self.executor is None:
            self.start()
        assert self.executor is not None
        return self.executor.run_action(as_action(action), on_output)

    def interrupt(self) -> None:
        if self.executor is not None:
            self.executor.interrupt()

    # -- files: the same functions the protocol server uses, so errors and semantics match ----

    def _path(self, path: str | Path) -> Path:
        return request_path(self.executor, self.workspace, path)

    def read_file(self, path: str, limit: Optional[int] = None) -> bytes:
        return transfer.read_bytes(self._path(path), limit)

    def write_file(self, path: str, data: bytes, mode: Optional[int] = None) -> None:
        transfer.write_bytes(self._path(path), data, mode)

    def upload(self, local: str | Path, remote: str) -> None:
        transfer.copy(Path(local), self._path(remote))

    def download(self, remote: str, local: str | Path) -> None:
        transfer.copy(self._path(remote), Path(local))

    def action_schemas(self) -> list[dict[str, Any]]:
        return load_class(self.executor_path, "executor", BaseActionExecutor).action_schemas()

    def close(self) -> None:
        executor, self.executor = self.executor, None
        if executor is not None:
            try:
                executor.close()
            except Exception as exc:  # noqa: BLE001 - a user's close() must not hide how the run went
                log.warning("closing executor %s failed: %s: %s", self.executor_path, type(exc).__name__, exc)
