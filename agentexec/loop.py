"""The agent loop: ask the agent, execute through the runtime, record, report, stop.

The loop knows nothing of terminals: it reports to *sinks* (the rich view, the JSON-lines
writer, the event log), so a library user gets no output they did not ask for. Every action is
recorded before it runs and every observation as soon as it exists, so a killed run leaves a log
that holds every action it executed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional, Protocol

from agentexec.agents.base import Agent, State, StopRun
from agentexec.errors import AgentexecError
from agentexec.eventlog import EventLogWriter, result_record, stamp
from agentexec.events import Action, Observation, Output, as_action, error, to_dict
from agentexec.outcomes import Outcome
from agentexec.runtimes.base import Runtime
from agentexec.secrets import Masker, StreamMasker, masker_for
from agentexec.streamed import StreamsForTheLog
from agentexec.tasks import Task


@dataclass
class RunResult:
    """How a run ended."""

    task_id: str
    outcome: str  # an ``Outcome``, or what an agent's ``StopRun`` named
    steps: int = 0  # actions that are steps (``is_step``), counted by the ``Recorder``
    errors: int = 0  # error observations, counted by the ``Recorder``
    duration: float = 0.0
    passed: bool = False
    message: str = ""
    log_path: Optional[str] = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 passed, 1 failed, 130 interrupted: the CLI's exit codes."""
        if self.outcome == Outcome.INTERRUPTED:
            return 130
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task_id,
            "outcome": str(self.outcome),
            "passed": self.passed,
            "steps": self.steps,
            "errors": self.errors,
            "duration": round(self.duration, 3),
            "message": self.message,
            "log": self.log_path,
            "checks": self.checks,
        }


class Sink(Protocol):
    """Receives a run's events as they happen."""

    def header(self, header: dict[str, Any]) -> None: ...

    def record(self, record: dict[str, Any]) -> None: ...

    def finish(self, result: RunResult) -> None: ...


class Stopped(KeyboardInterrupt):
    """An interrupt that did not come from a person's Ctrl-C (SIGTERM, a batch engine's timeout).

    It is a ``KeyboardInterrupt`` so that every place that cleans up after Ctrl-C cleans up after it
    too; it carries why, so the log says that instead of "interrupted by the user"."""


def interrupt_reason(exc: KeyboardInterrupt) -> str:
    """Why a run or action was interrupted, in words for its log and final line."""
    return str(exc) if isinstance(exc, Stopped) and str(exc) else "interrupted by the user"


def is_step(phase: Optional[str]) -> bool:
    """What a step is, wherever steps are counted (run, replay, resume, shell, batch): one action the
    agent (or the person at the shell, or the recording being replayed) took. The task's checks,
    run after the agent is done, are not steps."""
    return phase != "check"


class LogSink:
    """Writes the event log: header, then actions and observations, and a streamed output the
    observation does not hold (``agentexec.streamed``)."""

    def __init__(self, path: str) -> None:
        self.writer = EventLogWriter(path)
        self.kept = StreamsForTheLog()

    def header(self, header: dict[str, Any]) -> None:
        self.writer.write(header)

    def record(self, record: dict[str, Any]) -> None:
        for kept in self.kept.to_write(record):
            self.writer.write(kept)

    def finish(self, result: RunResult) -> None:
        self.writer.write(result_record(result.to_dict()))
        self.writer.close()


class Recorder:
    """Numbers events and hands them to every sink, with secret values masked (``agentexec.secrets``).

    Without a ``masker``, the secrets are those of this process's environment by the default patterns.
    """

    def __init__(self, sinks: list[Sink], masker: Optional[Masker] = None) -> None:
        self.sinks = sinks
        self.seq = 0
        #: What the run's result reports, counted here once for every kind of run.
        self.steps = 0
        self.errors = 0
        self.masker = masker_for(None, os.environ) if masker is None else masker
        self._streams: dict[int, StreamMasker] = {}

    def header(self, header: dict[str, Any]) -> None:
        header = self.masker.record(header)
        for sink in self.sinks:
            sink.header(header)

    def event(self, event: Action | Observation, **meta: Any) -> int:
        cause = getattr(event, "cause", None)
        if cause is not None and cause in self._streams:
            self._send_output(self._streams.pop(cause).flush(), cause)
        self.seq += 1
        if isinstance(event, Action) and is_step(meta.get("phase")):
            self.steps += 1
        elif isinstance(event, Observation) and event.is_error:
            self.errors += 1
        record = stamp(self.masker.record({**to_dict(event), **meta}), self.seq)
        for sink in self.sinks:
            sink.record(record)
        return self.seq

    def note(self, record: dict[str, Any]) -> None:
        """Hand every sink a note about the run (an ``eventlog.note_record``): not an event, no ``seq``."""
        for sink in self.sinks:
            sink.record(record)

    def output(self, text: str, cause: int) -> None:
        if self.masker:
            text = self._streams.setdefault(cause, StreamMasker(self.masker)).feed(text)
        self._send_output(text, cause)

    def _send_output(self, text: str, cause: int) -> None:
        if not text:
            return
        record = to_dict(Output(output=text, cause=cause))
        for sink in self.sinks:
            sink.record(record)

    def finish(self, result: RunResult) -> None:
        """Report the result, with the steps and errors this recorder counted."""
        result.steps, result.errors = self.steps, self.errors
        for sink in self.sinks:
            sink.finish(result)


class TaskStage(Protocol):
    """What happens around the agent's steps: ``before`` the first (raising ends the run as an error)
    and ``after`` however the run ended, returning what went wrong (a task's files: ``task_files``)."""

    def before(self, notes: Recorder) -> None: ...

    def after(self, notes: Recorder) -> list[str]: ...


def check_passed(observation: Observation) -> bool:
    """A check action passes when it is not an error and, for ``run``, exits 0."""
    if observation.is_error:
        return False
    return observation.extras.get("exit_code", 0) == 0


def execute(
    runtime: Runtime, recorder: Recorder, act: Action, *, usage: Optional[dict[str, Any]] = None, **meta: Any
) -> Observation:
    """Record an action, run it with its output streamed to the sinks, record its observation.

    ``usage`` (the agent step's token usage) is recorded with the action only, so summing it over
    a log counts each model call once.
    """
    seq = recorder.event(act, **meta, **({"usage": usage} if usage else {}))
    try:
        observation = runtime.execute(act, lambda text: recorder.output(text, seq))
    except KeyboardInterrupt as exc:
        runtime.interrupt()
        # An interrupted command ends as bash reports one ended by Ctrl-C: exit code 130.
        extras: dict[str, Any] = {"interrupted": True, **({"exit_code": 130} if act.action == "run" else {})}
        recorder.event(error(interrupt_reason(exc), **extras).model_copy(update={"cause": seq}), **meta)
        raise
    except AgentexecError as exc:
        observation = error(str(exc))
    observation = observation.model_copy(update={"cause": seq})
    recorder.event(observation, **meta)
    return observation


def run_task(
    task: Task,
    agent: Agent,
    runtime: Runtime,
    *,
    sinks: list[Sink],
    header: dict[str, Any],
    max_iterations: int,
    log_path: Optional[str] = None,
    prelude: Optional[Callable[[Recorder], list[Action | Observation]]] = None,
    stage: Optional[TaskStage] = None,
) -> RunResult:
    """Run one task to its end and report it; never raises for a failing task or interrupt.

    ``prelude`` runs before the agent's first step and returns the history it continues from
    (``--resume`` replays an interrupted run's actions this way); its actions count as steps.
    ``stage`` runs before the prelude and after the run, before its result is recorded.
    """
    config = getattr(runtime, "config", None)
    recorder = Recorder(
        sinks, masker_for(getattr(getattr(config, "core", None), "secret_env", None), os.environ, runtime.env)
    )
    recorder.header(header)
    started = time.monotonic()
    result = RunResult(task_id=task.id, outcome=Outcome.MAX_ITERATIONS, log_path=log_path)
    state = State(task=task, tools=runtime.action_schemas())
    try:
        if stage is not None:
            stage.before(recorder)
        if prelude is not None:
            state.history = prelude(recorder)
            state.iteration = sum(isinstance(event, Action) for event in state.history)
        agent.reset(state)
        while state.iteration < max_iterations:
            if task.timeout is not None and time.monotonic() - started > task.timeout:
                result.outcome, result.message = Outcome.TIMEOUT, f"task timeout of {task.timeout:g} s reached"
                break
            try:
                act = as_action(agent.step(state))  # an agent may return the dict form too
            except StopRun as stop:
                result.outcome, result.message = stop.outcome, str(stop)
                break
            state.iteration += 1
            observation = execute(runtime, recorder, act, usage=agent.step_usage())
            state.history += [act, observation]
            if act.action == "finish" and not observation.is_error:
                result.outcome, result.message = Outcome.FINISHED, observation.content
                break
        else:
            result.message = f"stopped after max_iterations={max_iterations} without finish"
        if result.outcome == Outcome.FINISHED:
            result.passed = True
        if task.check and result.outcome != Outcome.INTERRUPTED:
            for check in task.check:
                observation = execute(runtime, recorder, check, phase="check")
                result.checks.append({"action": check.action, "passed": check_passed(observation)})
            result.passed = result.outcome == Outcome.FINISHED and all(c["passed"] for c in result.checks)
    except KeyboardInterrupt as exc:
        result.outcome, result.passed, result.message = Outcome.INTERRUPTED, False, interrupt_reason(exc)
    except Exception as exc:  # noqa: BLE001 - an agent or runtime bug fails this task, not the caller
        result.outcome, result.passed = Outcome.ERROR, False
        result.message = f"{type(exc).__name__}: {exc}"
    if stage is not None and (problems := stage.after(recorder)):
        result.message = "; ".join([*([result.message] if result.message else []), *problems])
    result.duration = time.monotonic() - started
    recorder.finish(result)
    return result
