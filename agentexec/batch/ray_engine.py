"""The Ray engine: every task a Ray task, on an existing cluster or on a local one started for it.

Nothing is assumed shared with the cluster but agentexec itself being installed there: the job
carries the task, the configuration and the workspace archive; the user's modules travel in the
job's ``runtime_env`` as ``py_modules``; the log lines come back in the task's return value and the
driver writes the output directory. A cluster that agentexec starts itself listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Optional

from agentexec.batch.engine import STOP_GRACE, Completion, lost_result, stopped_result
from agentexec.batch.jobs import Job
from agentexec.batch.ray_connect import (
    captured_stderr,
    describe_failure,
    loopback_only,
    prepare_local_cluster_auth,
    wait_until_reachable,
)
from agentexec.errors import UsageError


@dataclass
class RayTask:
    """One submitted job: its object reference, deadline and how it is being stopped."""

    job: Job
    ref: Any
    deadline: Optional[float]
    stop_reason: Optional[str] = None
    kill_at: Optional[float] = None


class RayEngine:
    """Submits ``worker.run_job`` as Ray tasks of ``num_cpus`` CPUs each, at most ``workers`` at a time."""

    name = "ray"

    def __init__(
        self,
        address: Optional[str],
        num_cpus: float,
        py_modules: list[str],
        workers: Optional[int],
        connect_timeout: float = 30.0,
    ) -> None:
        address = address or os.environ.get("RAY_ADDRESS") or None
        if loopback_only(address):
            # Ray maps 127.0.0.1 to the machine's outward address unless told that this is not a
            # multi-node setup; a loopback cluster has no reason to be reached anywhere else.
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        if address is None:
            prepare_local_cluster_auth()
        else:
            wait_until_reachable(address, connect_timeout)
        try:
            import ray
        except ImportError:
            raise UsageError("--engine ray needs Ray: pip install 'agentexec[ray]'") from None
        self.ray = ray
        options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if py_modules:
            options["runtime_env"] = {"py_modules": py_modules}
        if address is None:
            options.update(include_dashboard=False, _node_ip_address="127.0.0.1")
        ray_output: list[str] = []
        try:
            if address is None:
                ray.init(address=address, **options)
            else:
                with captured_stderr() as ray_output:
                    ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UsageError(describe_failure(address, exc, "".join(ray_output))) from None
        self.collector: Any = ray.remote(num_cpus=0)(LogCollector).remote()
        self.remote = ray.remote(num_cpus=num_cpus, max_retries=0)(run_job_reporting)
        cpus = ray.cluster_resources().get("CPU", 1.0)
        self.workers = workers or max(1, int(cpus // num_cpus))
        self.tasks: dict[Any, RayTask] = {}

    def capacity(self) -> int:
        return self.workers

    def running(self) -> int:
        return len(self.tasks)

    def submit(self, job: Job) -> None:
        ref = self.remote.remote(job, self.collector)
        deadline = time.monotonic() + job.timeout if job.timeout else None
        self.tasks[ref] = RayTask(job, ref, deadline)

    def wait(self, timeout: float) -> list[Completion]:
        self._enforce(time.monotonic())
        if not self.tasks:
            return []
        waits = [wait for t in self.tasks.values() if (wait := t.kill_at or t.deadline) is not None]
        if waits:
            timeout = max(0.0, min(timeout, min(waits) - time.monotonic()))
        refs = list(self.tasks)
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        done = [self._collect(self.tasks.pop(ref)) for ref in ready]
        self._enforce(time.monotonic())
        return done

    def cancel(self) -> None:
        for task in self.tasks.values():
            self._stop(task, "cancelled", time.monotonic())

    def close(self) -> None:
        for task in self.tasks.values():
            self.ray.cancel(task.ref, force=True)
        self.tasks.clear()
        self.ray.shutdown()

    def _enforce(self, now: float) -> None:
        for task in self.tasks.values():
            if task.stop_reason is None and task.deadline is not None and now >= task.deadline:
                self._stop(task, "timeout", now)
            elif task.kill_at is not None and now >= task.kill_at:
                task.kill_at = None
                self.ray.cancel(task.ref, force=True)

    def _stop(self, task: RayTask, reason: str, now: float) -> None:
        """Cancel gently (KeyboardInterrupt in the task) and force it after ``STOP_GRACE`` seconds.

        The collector is told why first, so the task's log says it (see ``run_job_reporting``)."""
        if task.stop_reason is None:
            task.stop_reason, task.kill_at = reason, now + STOP_GRACE
            from agentexec.batch.worker import CANCELLED, timeout_reason

            why = timeout_reason(task.job) if reason == "timeout" else CANCELLED
            try:
                self.ray.get(self.collector.stop.remote(task.job.task_id, why), timeout=5)
            except self.ray.exceptions.RayError:
                pass  # the log then says "interrupted by the user"; the result still says why
            self.ray.cancel(task.ref, force=False)

    def _collect(self, task: RayTask) -> Completion:
        job = task.job
        exceptions = self.ray.exceptions
        try:
            outcome = self.ray.get(task.ref)
        except (exceptions.TaskCancelledError, exceptions.WorkerCrashedError) as exc:
            kept = self._kept_lines(job)
            if task.stop_reason is not None:
                return Completion(job, stopped_result(job, task.stop_reason), kept, lost=True)
            return Completion(job, lost_result(job, "crashed", f"Ray worker died: {_first_line(exc)}"), kept, lost=True)
        except exceptions.RayError as exc:
            result = lost_result(job, "error", f"{type(exc).__name__}: {_first_line(exc)}")
            return Completion(job, result, self._kept_lines(job), lost=True)
        self.collector.forget.remote(job.task_id)
        if task.stop_reason is not None:
            return Completion(job, stopped_result(job, task.stop_reason, outcome["result"]), outcome["lines"])
        return Completion(job, outcome["result"], outcome["lines"], elapsed=outcome["elapsed"])

    def _kept_lines(self, job: Job) -> Optional[list[str]]:
        """The log lines a worker that never returned had made, from the collector (None if none)."""
        try:
            lines = self.ray.get(self.collector.take.remote(job.task_id), timeout=10)
        except self.ray.exceptions.RayError:
            return None
        return lines or None


class LogCollector:
    """A Ray actor on the cluster keeping each running job's log lines as they are made, so a task
    stopped at its timeout, cancelled or killed keeps every action it ran, as the local engine's
    log file does. Lines from one worker arrive in order (Ray runs one caller's actor calls in order)."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}
        self.reasons: dict[str, str] = {}  # why the engine is stopping a job

    def add(self, task_id: str, line: str) -> None:
        self.lines.setdefault(task_id, []).append(line)

    def stop(self, task_id: str, reason: str) -> None:
        self.reasons[task_id] = reason

    def reason(self, task_id: str) -> Optional[str]:
        return self.reasons.get(task_id)

    def take(self, task_id: str) -> list[str]:
        self.reasons.pop(task_id, None)
        return self.lines.pop(task_id, [])

    def forget(self, task_id: str) -> None:
        self.reasons.pop(task_id, None)
        self.lines.pop(task_id, None)


def run_job_reporting(job: Job, collector: Any) -> dict[str, Any]:
    """``run_job`` on a Ray worker, sending its log lines to ``collector`` (see ``LineReporter``).

    Ray's gentle cancel raises KeyboardInterrupt through the main thread's SIGINT handler; this
    one asks the collector why the engine stopped the job and raises ``Stopped`` with that reason,
    so a timeout is logged as one, not as a person's Ctrl-C.
    """
    from agentexec.batch.worker import run_job

    def stopped(signum: int, frame: Any) -> None:
        import ray

        from agentexec.loop import Stopped

        try:
            reason = ray.get(collector.reason.remote(job.task_id), timeout=5)
        except ray.exceptions.RayError:
            reason = None
        raise Stopped(reason) if reason else KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, stopped)
    except ValueError:  # not the main thread: Ray's own KeyboardInterrupt, and its words, then
        return run_job(job, on_line=LineReporter(collector, job.task_id))
    try:
        return run_job(job, on_line=LineReporter(collector, job.task_id))
    finally:
        signal.signal(signal.SIGINT, previous)


class LineReporter:
    """Puts each of a job's log lines on the collector as it is made. An action's line is confirmed
    before the action runs (a round trip of about a millisecond), since the action may kill this
    worker; the other lines (observations, the header) are sent without waiting for an answer, and
    Ray runs one caller's actor calls in order, so the next confirmation covers them too. One wait
    per action rather than per line keeps Ray's per-task overhead down."""

    def __init__(self, collector: Any, task_id: str) -> None:
        self.collector = collector
        self.task_id = task_id

    def __call__(self, line: str) -> None:
        sent = self.collector.add.remote(self.task_id, line)
        if "action" in json.loads(line):
            import ray

            ray.get(sent)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
