"""One run pipeline: prepare a session (paths, runtime, log, signals), run it, tear it down.

``agentexec run``, ``replay``, ``run --resume``, ``shell``, batch workers and ``connect()`` all
go through ``Session``, so the steps are written once and in one order: check the workspace and
log paths, build the runtime with its outputs beside the log, treat SIGTERM as Ctrl-C (for
commands), start the runtime, open the log with its header, run, close the runtime. What differs
between them is what runs inside: the agent loop, a replay, or an interactive shell.

    plan = SessionPlan(config, workspace, log_path=log, task=task.model_dump(mode="json"))
    with Session(plan) as session:
        result = session.run(task, agent, view, max_iterations=limit)
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from agentexec.agents.base import Agent
from agentexec.assembly import build_runtime
from agentexec.config import Config
from agentexec.errors import UsageError
from agentexec.eventlog import make_header
from agentexec.events import Action, Observation
from agentexec.loop import LogSink, Recorder, RunResult, Sink, Stopped, run_task
from agentexec.replay.start import SnapshotLimits, record_start
from agentexec.runtimes.base import Runtime
from agentexec.task_files import TaskFiles
from agentexec.tasks import Task

#: Beside an event log ``run.jsonl``, the directory ``run.jsonl.outputs`` holds what its executor spilled.
OUTPUTS_SUFFIX = ".outputs"


@dataclass
class SessionPlan:
    """What a session needs, decided by its caller before anything starts.

    Args:
        config: the effective configuration.
        workspace: the executor's workspace directory.
        log_path: the event log; its ``.outputs`` directory receives spilled outputs. None: no log
            file (``connect()``), or one the caller writes through ``log``.
        env: environment variables for the executor's processes (the task's ``env``).
        task: the task as the header records it.
        header_extra: more header fields (``replayed_from``, ``resumed_from``).
        log: the sink that keeps the log, when not a file at ``log_path`` (a batch worker's memory).
        outputs_beside_log: spill outputs beside ``log_path`` (off when the log is written elsewhere).
        start: the header's ``start`` record of the workspace the run begins from, when the caller
            knows it (a batch task's copied directory, a replay's or resume's recorded start);
            None: the session snapshots the workspace beside the log as it starts (``replay.start``).
        catch_sigterm: SIGTERM becomes KeyboardInterrupt, so the run closes its log and runtime (CLI
            commands; a library caller or a batch worker keeps its own signal handling).
    """

    config: Config
    workspace: str
    log_path: Optional[str] = None
    env: dict[str, str] = field(default_factory=dict)
    task: dict[str, Any] = field(default_factory=dict)
    header_extra: dict[str, Any] = field(default_factory=dict)
    log: Optional[Sink] = None
    outputs_beside_log: bool = True
    catch_sigterm: bool = False
    start: Optional[dict[str, Any]] = None

    @property
    def output_dir(self) -> Optional[str]:
        if self.log_path is None or not self.outputs_beside_log:
            return None
        return self.log_path + OUTPUTS_SUFFIX


class Session:
    """A started runtime for one run, with the log it writes; a context manager that always closes it."""

    def __init__(self, plan: SessionPlan) -> None:
        self.plan = plan
        self.runtime: Optional[Runtime] = None
        #: The header's ``start`` record, known once the session has started.
        self.start_record: Optional[dict[str, Any]] = plan.start

    def __enter__(self) -> Session:
        self.start()
        return self

    def start(self) -> Runtime:
        """Check the paths, build and start the runtime; on failure nothing is left running."""
        plan = self.plan
        check_run_paths(plan.workspace, plan.log_path)
        runtime = build_runtime(plan.config, workspace=plan.workspace, env=plan.env, output_dir=plan.output_dir)
        if self.start_record is None and plan.log_path is not None:
            self.start_record = record_workspace(plan, on_this_machine=not _on_ssh_host(runtime))
        if plan.catch_sigterm:
            raise_on_sigterm()
        self.runtime = runtime
        try:
            runtime.start()
        except BaseException:
            self.close()
            raise
        return runtime

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            runtime.close()

    @property
    def started(self) -> Runtime:
        """The running runtime (only inside ``with``)."""
        if self.runtime is None:
            raise RuntimeError("the session is not started; use it as a context manager")
        return self.runtime

    @property
    def log_path(self) -> Optional[str]:
        return self.plan.log_path

    def header(self) -> dict[str, Any]:
        """The log's first line: the task, the config, the workspace and the caller's extras."""
        return session_header(self.plan, self.start_record)

    def sinks(self, *views: Sink) -> list[Sink]:
        """The log's sink, then the views (the rich view, ``--json``) that show the run."""
        log = self.plan.log or (LogSink(self.plan.log_path) if self.plan.log_path else None)
        return [*([log] if log is not None else []), *views]

    def run(
        self,
        task: Task,
        agent: Agent,
        *views: Sink,
        max_iterations: int,
        prelude: Optional[Callable[[Recorder], list[Action | Observation]]] = None,
    ) -> RunResult:
        """Run ``task`` with ``agent`` to its end, recording to the log and showing in ``views``.

        The task's uploads go into the workspace before the agent starts; its downloads come back
        into the run's output directory however the run ends (``task_files``).
        """
        files = TaskFiles(task, self.started, self.plan.output_dir)
        return run_task(
            task,
            agent,
            self.started,
            sinks=self.sinks(*views),
            header=self.header(),
            max_iterations=max_iterations,
            log_path=self.plan.log_path,
            prelude=prelude,
            stage=files if files else None,
        )


def session_header(plan: SessionPlan, start: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The header a session's log opens with; available before the runtime exists (a failed start logs it)."""
    workspace = str(Path(plan.workspace).resolve())
    extra = {**({"start": start} if start is not None else {}), **plan.header_extra}
    return make_header(plan.task, plan.config.to_dict(), workspace=workspace, **extra)


def _on_ssh_host(runtime: Runtime) -> bool:
    """Whether the runtime is ``ssh`` (its module is loaded if so; importing it here would slow every run)."""
    ssh = sys.modules.get("agentexec.runtimes.ssh")
    return ssh is not None and isinstance(runtime, ssh.SSHRuntime)


def record_workspace(plan: SessionPlan, on_this_machine: bool = True) -> dict[str, Any]:
    """Store the starting workspace beside the log, saying on stderr when it is too large to store.

    A log written on another machine (a Ray worker's) has no directory here to store it in, and an
    ``ssh`` runtime's workspace is a path on its host, not here.
    """
    assert plan.log_path is not None
    if not on_this_machine:
        return {"kind": "unrecorded", "reason": "the workspace is on the ssh runtime's host, not this machine"}
    core = plan.config.core
    limits = SnapshotLimits(core.snapshot_max_bytes, core.snapshot_max_files)
    if not plan.outputs_beside_log:
        limits = SnapshotLimits(0, 0)
    start = record_start(Path(plan.workspace), Path(plan.log_path), limits, excluded=[Path(core.log_dir)])
    if start["kind"] == "unrecorded" and plan.outputs_beside_log:
        # Told to the person at the command line (the header says it too): replay will start empty.
        sys.stderr.write(f"agentexec: warning: the starting workspace is not stored for replay: {start['reason']}\n")
    return start


def check_run_paths(workspace: str, log_path: Optional[str]) -> None:
    """A workspace or log path that cannot be used is bad usage: say so in one line before anything starts."""
    if Path(workspace).exists() and not Path(workspace).is_dir():
        raise UsageError(f"workspace {workspace} is not a directory; give --workspace a directory")
    if log_path is not None and Path(log_path).is_dir():
        raise UsageError(f"event log {log_path} is a directory; give --log a file path")


def raise_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C so the loop closes the log and cleans up before exiting."""

    def handler(signum: int, frame: Any) -> None:
        raise Stopped("interrupted by SIGTERM")

    signal.signal(signal.SIGTERM, handler)
