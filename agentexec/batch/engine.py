"""What the scheduler needs from an engine, and the results an engine makes up for lost tasks.

An engine runs jobs concurrently and reports each one's end exactly once, as a ``Completion``,
whether the task returned, raised, hung past its timeout (the engine stops it), killed its worker,
or was cancelled. Stopping is gentle first (the task sees KeyboardInterrupt, so its log and runtime
close properly) and forced after ``STOP_GRACE`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Protocol

from agentexec.batch.jobs import Job

#: Seconds between asking a task to stop and killing its worker.
STOP_GRACE = 3.0


@dataclass
class Completion:
    """How one job ended: the loop's result dict, and the log lines if the worker returned them."""

    job: Job
    result: dict[str, Any]
    lines: Optional[list[str]] = None
    #: True when the worker never returned, so the driver must finish the task's log itself.
    lost: bool = False
    #: Seconds the worker spent on the job (workspace, runtime, loop), when it returned.
    elapsed: Optional[float] = None


class Engine(Protocol):
    """Runs jobs; ``wait`` returns those that ended, enforcing each job's timeout meanwhile."""

    name: str

    def capacity(self) -> int: ...

    def submit(self, job: Job) -> None: ...

    def wait(self, timeout: float) -> list[Completion]: ...

    def running(self) -> int: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


def stopped_result(job: Job, reason: str, returned: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The result of a job the engine stopped: ``timeout`` or ``cancelled``, keeping any steps done."""
    if reason == "timeout":
        message = f"task timeout of {job.timeout:g} s reached; the engine stopped it"
    else:
        message = "cancelled by a second interrupt"
    base = returned or {}
    kept: dict[str, Any] = {key: base[key] for key in ("steps", "duration", "checks") if key in base}
    return {**lost_result(job, reason, message), **kept}


def lost_result(job: Job, outcome: str, message: str) -> dict[str, Any]:
    """A result for a job whose worker returned nothing (crashed, killed, or stopped)."""
    return {
        "task": job.task_id,
        "outcome": outcome,
        "passed": False,
        "steps": 0,
        "duration": 0.0,
        "message": message,
        "log": job.log_path,
        "checks": [],
    }
