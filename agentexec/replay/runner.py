"""Re-executing a recorded run: the loop's ``execute`` and ``Recorder``, fed by a log, not an agent.

Replay reuses the loop's machinery, so a replay streams and records exactly as ``run`` does and
its own log can be shown, replayed and verified in turn. ``resume_prelude`` is the same replay
turned into the history an agent continues from (``agentexec run --resume``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Optional

from agentexec.errors import AgentexecError, UsageError
from agentexec.events import Action, Observation, error
from agentexec.loop import Recorder, RunResult, Sink, TaskStage, execute, interrupt_reason
from agentexec.outcomes import Outcome
from agentexec.replay.paths import PathMap
from agentexec.replay.source import RecordedRun, Step, steps
from agentexec.replay.verify import Verifier
from agentexec.runtimes.base import Runtime


@dataclass
class ReplayResult(RunResult):
    """A run's result plus where the replay came from and, with ``--verify``, its comparison."""

    replayed_from: str = ""
    verify: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["replayed_from"] = self.replayed_from
        if self.verify is not None:
            data["verify"] = self.verify
        return data


def select(run: RecordedRun, start: Optional[int] = None, stop: Optional[int] = None) -> Iterator[Step]:
    """The steps whose recorded ``seq`` is within ``[start, stop]``."""
    for step in steps(run.entries()):
        if stop is not None and step.seq > stop:
            return
        if start is None or step.seq >= start:
            yield step


def replay(
    run: RecordedRun,
    runtime: Runtime,
    *,
    sinks: list[Sink],
    header: dict[str, Any],
    verifier: Optional[Verifier] = None,
    stop_on_divergence: bool = False,
    start: Optional[int] = None,
    stop: Optional[int] = None,
    log_path: Optional[str] = None,
    stage: Optional[TaskStage] = None,
) -> ReplayResult:
    """Execute a recorded run's actions in order in ``runtime``; never raises for a failing action.

    ``stage`` carries the recorded task's files: uploads before the first action, downloads after
    the last (``task_files``). A malformed line found midway still raises (a ``UsageError``), after
    the new log is closed.
    """
    recorder = Recorder(sinks)
    recorder.header(header)
    task_id = str((run.header.get("task") or {}).get("id", "replay"))
    result = ReplayResult(
        task_id=task_id, outcome=Outcome.REPLAYED, log_path=log_path, replayed_from=str(run.path.resolve())
    )
    paths = PathMap(run.header.get("workspace"), runtime.workspace)
    started = time.monotonic()
    failure: Optional[UsageError] = None
    try:
        if stage is not None:
            stage.before(recorder)
        for step in select(run, start, stop):
            meta: dict[str, Any] = {"phase": step.phase} if step.phase else {}
            observation = replay_step(runtime, recorder, step, paths.action(step.action), **meta)
            result.steps = recorder.steps
            divergence = verifier.check(step, observation) if verifier is not None else None
            if divergence is not None:
                recorder.note(divergence.to_record())
                if stop_on_divergence:
                    break
    except KeyboardInterrupt:
        result.outcome, result.message = Outcome.INTERRUPTED, "interrupted by the user"
    except UsageError as exc:
        result.outcome, result.message, failure = Outcome.ERROR, str(exc), exc
    except Exception as exc:  # noqa: BLE001 - a runtime bug fails this replay, not the caller
        result.outcome, result.message = Outcome.ERROR, f"{type(exc).__name__}: {exc}"
    result.duration = time.monotonic() - started
    if verifier is not None:
        result.verify = verifier.summary()
        if verifier.diverged and result.outcome == Outcome.REPLAYED:
            result.outcome = Outcome.DIVERGED
    result.passed = result.outcome == Outcome.REPLAYED
    if not result.message:
        result.message = describe(result)
    if stage is not None and (problems := stage.after(recorder)):
        result.message = "; ".join([result.message, *problems])
    recorder.finish(result)
    if failure is not None:
        raise failure
    return result


def replay_step(runtime: Runtime, recorder: Recorder, step: Step, action: Action, **meta: Any) -> Observation:
    """Execute one recorded action as it happened: an action the run interrupted is interrupted again.

    The run's Ctrl-C (or SIGTERM, or a batch timeout) reached the action ``interrupted_after``
    seconds in, and the loop recorded an ``interrupted`` observation instead of the executor's. The
    same keys go to the runtime at the same moment, so what the action did (a half-written file,
    a killed ``sleep``) is what it did then and the next action finds the shell free, not "a
    command is still running"; the recorded observation is kept, as the run kept it.
    """
    after = step.interrupted_after
    if after is None:
        return execute(runtime, recorder, action, **meta)
    assert step.recorded is not None
    seq = recorder.event(action, **meta)
    timer = threading.Timer(after, runtime.interrupt)
    timer.daemon = True
    timer.start()
    try:
        runtime.execute(action, lambda text: recorder.output(text, seq))
    except AgentexecError:
        pass  # the recorded observation stands for whatever the interrupted action returned
    except KeyboardInterrupt as exc:  # the user's own Ctrl-C (or SIGTERM) during the replay: stop as execute() does
        timer.cancel()
        runtime.interrupt()
        extras: dict[str, Any] = {"interrupted": True, **({"exit_code": 130} if action.action == "run" else {})}
        recorder.event(error(interrupt_reason(exc), **extras).model_copy(update={"cause": seq}), **meta)
        raise
    finally:
        timer.cancel()
    observation = step.recorded.model_copy(update={"cause": seq})
    recorder.event(observation, **meta)
    return observation


def describe(result: ReplayResult) -> str:
    """One line for humans: how many actions were replayed and how the comparison went."""
    text = f"{result.steps} actions replayed"
    verify = result.verify
    if verify is not None:
        text += f"; {verify['compared']} compared, {verify['matched']} matched, {verify['diverged']} diverged"
        if verify["divergent_seqs"]:
            text += " (seq " + ", ".join(map(str, verify["divergent_seqs"][:10])) + ")"
        if verify["not_recorded"]:
            text += f", {verify['not_recorded']} without a recorded observation"
    return text


def resumable(run: RecordedRun) -> Iterator[Step]:
    """The agent's executed actions: no checks, and not a last action that never completed."""
    previous: Optional[Step] = None
    for step in steps(run.entries()):
        if step.phase == "check":
            continue
        if previous is not None:
            yield previous
        previous = step
    if previous is not None and previous.recorded is not None and not previous.recorded.extras.get("interrupted"):
        yield previous


def resume_prelude(run: RecordedRun, runtime: Runtime) -> Callable[[Recorder], list[Action | Observation]]:
    """Replays a run's executed actions into the new log and returns them as the agent's history."""

    def prelude(recorder: Recorder) -> list[Action | Observation]:
        paths = PathMap(run.header.get("workspace"), runtime.workspace)
        history: list[Action | Observation] = []
        for step in resumable(run):
            action = paths.action(step.action)
            history += [action, replay_step(runtime, recorder, step, action, phase="resume")]
        return history

    return prelude
