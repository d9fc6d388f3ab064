"""A mini-swe-agent environment whose commands run through an agentexec runtime.

mini-swe-agent's agent calls ``env.execute({"command": ...})`` and expects its ``LocalEnvironment``'s
contract back: each command independent of the last (``cd`` and variables do not carry over, the
cwd comes from the config or the call), stdout and stderr merged, ``{"output", "returncode",
"exception_info"}``, and a command still running at its timeout stopped and reported as
returncode -1 with the ``TimeoutExpired`` message mini-swe-agent's own environments give. Output
whose first line is ``COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`` (exit 0) ends the run with the rest as
the submission, exactly as there.

Underneath, each command is the executor's ``run`` action (in a subshell, so the persistent session
keeps none of its state), executed through ``agentexec.connect``'s runtime - local, sandbox,
docker, ssh, a custom executor - and recorded with ``execute`` in an ordinary agentexec event log,
whose path the trajectory names (``info.agentexec_log``) so the two can be read side by side.

Config (mini-swe-agent's ``environment:`` section)::

    environment:
      environment_class: agentexec.integrations.minisweagent.AgentexecEnvironment
      runtime: sandbox          # any agentexec runtime; config / executor / workspace likewise
      log_path: run.agentexec.jsonl
      timeout: 30
"""

from __future__ import annotations

import platform
import re
import shlex
import time
from pathlib import Path
from typing import Any, Optional

from minisweagent.exceptions import Submitted
from minisweagent.utils.serialize import recursive_merge
from pydantic import BaseModel

from agentexec.events import Action, Observation
from agentexec.loop import LogSink, Recorder, RunResult, execute
from agentexec.runtimes.base import Runtime

#: mini-swe-agent's marker: a command whose output starts with it submits the rest.
SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
#: The line agentexec's run adds when it returns with the command still running; not command output.
_LEFT_RUNNING = re.compile(r"\n\[[^\n]*\(\w+\); the process is left running[^\n]*\]")


class AgentexecEnvironmentConfig(BaseModel):
    """mini-swe-agent's local keys (cwd, env, timeout) plus where agentexec runs and logs."""

    cwd: str = ""
    """Where each command starts; empty means the runtime's workspace."""
    env: dict[str, str] = {}
    """Variables set for every command."""
    timeout: int = 30
    """Seconds before a command is stopped (a per-call ``timeout`` wins), as in mini-swe-agent."""
    config: Optional[str] = None
    """agentexec TOML config; runtime, executor and workspace override it, as for ``agentexec.connect``."""
    runtime: Optional[str] = None
    executor: Optional[str] = None
    workspace: Optional[str] = None
    log_path: str = ""
    """agentexec's event log; empty means a new file under the config's log_dir."""


class AgentexecEnvironment:
    """mini-swe-agent's ``Environment`` protocol over a started agentexec runtime."""

    def __init__(self, *, config_class: type = AgentexecEnvironmentConfig, **kwargs: Any) -> None:
        from agentexec.api import connect
        from agentexec.eventlog import make_header, new_log_path
        from agentexec.tasks import Task

        self.config = config_class(**kwargs)
        self.runtime: Runtime = connect(
            self.config.config,
            runtime=self.config.runtime,
            executor=self.config.executor,
            workspace=self.config.workspace,
        )
        core = self.runtime.config.core
        self.log_path = str(Path(self.config.log_path or new_log_path(core.log_dir, "minisweagent")).resolve())
        self.recorder = Recorder([LogSink(self.log_path)])
        self.recorder.header(
            make_header(
                Task(id="minisweagent").model_dump(mode="json"),
                self.runtime.config.to_dict(),
                workspace=str(self.runtime.workspace),
            )
        )
        self.calls = 0
        self._started = time.monotonic()
        self._closed = False

    def execute(self, action: dict[str, Any], cwd: str = "", *, timeout: Optional[int] = None) -> dict[str, Any]:
        """Run one command as mini-swe-agent's LocalEnvironment would, through agentexec."""
        command = action.get("command", "")
        limit = float(timeout or self.config.timeout)
        start_dir = cwd or self.config.cwd or str(self.runtime.workspace)
        exports = "".join(f"export {name}={shlex.quote(value)}; " for name, value in self.config.env.items())
        wrapped = f"( cd {shlex.quote(start_dir)} && {exports}\n{command}\n) </dev/null 2>&1"
        self.calls += 1
        started = time.monotonic()
        observation = self._run({"command": wrapped, "timeout": limit})
        output = observation.content
        while observation.extras.get("running"):
            output = _LEFT_RUNNING.sub("", output)
            remaining = limit - (time.monotonic() - started)
            if remaining <= 0:
                self._run({"command": "C-c", "is_input": True, "timeout": 10.0})
                return _timed_out(command, limit, output)
            observation = self._run({"command": "", "is_input": True, "timeout": remaining})
            output += observation.content
        if observation.is_error and "exit_code" not in observation.extras:
            result = _failed(observation.content, output)
        else:
            result = {"output": output, "returncode": int(observation.extras["exit_code"]), "exception_info": ""}
        _check_submitted(result)
        return result

    def _run(self, args: dict[str, Any]) -> Observation:
        return execute(self.runtime, self.recorder, Action(action="run", args=args))

    def get_template_vars(self, **kwargs: Any) -> dict[str, Any]:
        return recursive_merge(self.config.model_dump(), platform.uname()._asdict(), kwargs)

    def serialize(self) -> dict[str, Any]:
        return {
            "info": {
                "agentexec_log": self.log_path,
                "config": {
                    "environment": self.config.model_dump(mode="json"),
                    "environment_type": f"{type(self).__module__}.{type(self).__name__}",
                },
            }
        }

    def close(self) -> None:
        """End the event log with its result line and stop the runtime; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.recorder.finish(
                RunResult(
                    task_id="minisweagent",
                    outcome="finished",
                    steps=self.calls,
                    duration=time.monotonic() - self._started,
                    passed=True,
                    message=f"mini-swe-agent ran {self.calls} commands",
                    log_path=self.log_path,
                )
            )
        finally:
            self.runtime.close()

    def __enter__(self) -> AgentexecEnvironment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown; nothing left to report to
            pass


def _timed_out(command: str, limit: float, output: str) -> dict[str, Any]:
    """mini-swe-agent's result for a command stopped at its timeout (subprocess.TimeoutExpired's words)."""
    message = f"Command '{command}' timed out after {limit:g} seconds"
    return {
        "output": output,
        "returncode": -1,
        "exception_info": f"An error occurred while executing the command: {message}",
        "extra": {"exception_type": "TimeoutExpired", "exception": message},
    }


def _failed(reason: str, output: str) -> dict[str, Any]:
    """An action agentexec could not run at all (runtime gone, bad arguments): mini-swe-agent's error shape."""
    return {
        "output": output,
        "returncode": -1,
        "exception_info": f"An error occurred while executing the command: {reason}",
        "extra": {"exception_type": "AgentexecError", "exception": reason},
    }


def _check_submitted(result: dict[str, Any]) -> None:
    lines = result["output"].lstrip().splitlines(keepends=True)
    if lines and lines[0].strip() == SUBMIT_MARKER and result["returncode"] == 0:
        submission = "".join(lines[1:])
        raise Submitted(
            {"role": "exit", "content": submission, "extra": {"exit_status": "Submitted", "submission": submission}}
        )
