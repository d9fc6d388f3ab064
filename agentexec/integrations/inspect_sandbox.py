"""An Inspect AI sandbox type ``agentexec``: Inspect's ``exec``/``read_file``/``write_file`` on any runtime.

Inspect finds it through the ``inspect_ai`` entry point (``pip install 'agentexec[inspect]'``).
A sample's sandbox is ``("agentexec", "agentexec.toml")`` - a config file whose ``[core]`` names
the runtime and executor - or ``("agentexec", AgentexecSandboxConfig(runtime="sandbox"))``.
Each sample gets a fresh temporary workspace unless the config names one. ``exec`` is the
executor's ``exec`` action; files go through the runtime's chunked ``read_file``/``write_file``,
so a custom executor under ``local``, ``process`` or ``sandbox`` serves an Inspect eval unchanged.
Big stdin (Inspect sends up to hundreds of MB) is uploaded as a file first, never put in a request.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal, Optional, Union, overload

import anyio
from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    sandboxenv,
)
from pydantic import BaseModel, ConfigDict

from agentexec.errors import FileTooLarge
from agentexec.runtimes.base import Runtime

#: stdin bigger than this travels as an uploaded file instead of inside the exec request.
INLINE_STDIN_BYTES = 1 << 20
_START_ERRORS: dict[str, type[OSError]] = {
    "PermissionError": PermissionError,
    "FileNotFoundError": FileNotFoundError,
    "NotADirectoryError": NotADirectoryError,
}


class AgentexecSandboxConfig(BaseModel):
    """Which agentexec runtime and executor serve the sample (all optional: the config file's values else)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    config: Optional[str] = None
    runtime: Optional[str] = None
    executor: Optional[str] = None
    workspace: Optional[str] = None


@sandboxenv(name="agentexec")
class AgentexecSandboxEnvironment(SandboxEnvironment):
    """One sample's sandbox: a started agentexec runtime and its workspace."""

    def __init__(self, runtime: Runtime, temporary: Optional[Path]) -> None:
        super().__init__()
        self.runtime = runtime
        self.temporary = temporary

    @classmethod
    def config_deserialize(cls, config: dict[str, Any]) -> BaseModel:
        return AgentexecSandboxConfig(**config)

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        settings = _settings(config)
        temporary = None if settings.workspace else Path(tempfile.mkdtemp(prefix="agentexec-inspect-"))
        workspace = settings.workspace or str(temporary)
        # Started on this (the event loop's) thread, not a worker thread: bwrap's --die-with-parent
        # follows the thread that forked it, and a worker thread may end with the server still needed.
        runtime = _connect(settings, workspace)
        return {"default": cls(runtime, temporary)}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            sandbox = environment.as_type(AgentexecSandboxEnvironment)
            await anyio.to_thread.run_sync(sandbox.runtime.close)
            if sandbox.temporary is not None:
                shutil.rmtree(sandbox.temporary, ignore_errors=True)

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        limit = SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE
        args: dict[str, Any] = {"argv": cmd, "env": env or {}, "cwd": cwd, "user": user, "max_output_chars": limit + 1}
        args["timeout"] = float(timeout) if timeout is not None else 24 * 3600.0
        data = input.encode("utf-8") if isinstance(input, str) else input
        stdin_file = None
        if data is not None and len(data) > INLINE_STDIN_BYTES:
            stdin_file = f".agentexec-stdin-{uuid.uuid4().hex}"
            await anyio.to_thread.run_sync(self.runtime.write_file, stdin_file, data)
            args["stdin_file"] = stdin_file
        elif data is not None:
            args["stdin_base64"] = base64.b64encode(data).decode("ascii")
        try:
            observation = await anyio.to_thread.run_sync(self.runtime.execute, {"action": "exec", "args": args})
        finally:
            if stdin_file is not None:
                await anyio.to_thread.run_sync(self._remove, stdin_file)
        extras = observation.extras
        if observation.is_error:
            kind = _START_ERRORS.get(str(extras.get("exception")))
            if kind is not None:
                raise kind(observation.content)
            return ExecResult(success=False, returncode=1, stdout="", stderr=observation.content)
        if extras.get("timed_out"):
            raise TimeoutError(f"{cmd[0]!r} timed out after {timeout} s; its process tree was killed")
        if extras.get("stdout_chars", 0) > limit or extras.get("stderr_chars", 0) > limit:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_EXEC_OUTPUT_SIZE_STR, observation.content)
        code = int(extras.get("exit_code", 1))
        return ExecResult(
            success=code == 0, returncode=code, stdout=observation.content, stderr=extras.get("stderr", "")
        )

    def _remove(self, path: str) -> None:
        self.runtime.execute({"action": "exec", "args": {"argv": ["rm", "-f", "--", path]}})

    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        await anyio.to_thread.run_sync(self.runtime.write_file, file, data)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> Union[str, bytes]:
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        try:
            data = await anyio.to_thread.run_sync(self.runtime.read_file, file, limit)
        except FileTooLarge:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, None) from None
        return data.decode("utf-8") if text else data


def _settings(config: SandboxEnvironmentConfigType | None) -> AgentexecSandboxConfig:
    if config is None:
        return AgentexecSandboxConfig()
    if isinstance(config, str):
        return AgentexecSandboxConfig(config=config)
    if isinstance(config, AgentexecSandboxConfig):
        return config
    raise ValueError(
        f"the agentexec sandbox takes a path to an agentexec.toml or an AgentexecSandboxConfig, "
        f"got {type(config).__name__}"
    )


def _connect(settings: AgentexecSandboxConfig, workspace: str) -> Runtime:
    import agentexec

    return agentexec.connect(settings.config, runtime=settings.runtime, executor=settings.executor, workspace=workspace)
