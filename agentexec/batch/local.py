"""The local engine: every task in a fresh worker process, at most ``workers`` at a time.

A fresh process per task is the isolation unit: a task that raises, hangs or kills its process
(``os._exit``, ``kill -9``) takes nothing else with it, and no state leaks from one task into the
next. Processes come from a fork server (``forkserver``) that has already imported agentexec and
the user's classes, so starting one costs a fork rather than an interpreter start, and the driver
itself (which runs a progress display thread) never forks.

A worker writes its outcome to a pipe of its own; the server tells the driver each worker's pid as
it starts and its exit code when it ends. A task is done once its whole outcome has arrived (its
worker has nothing left but ``os._exit``, so the next task need not wait for that), or, without
one, once its worker has ended.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional

from agentexec.batch.engine import STOP_GRACE, Completion, lost_result, stopped_result
from agentexec.batch.forkserver import EXITED, STARTED, ForkServer
from agentexec.batch.jobs import Job
from agentexec.batch.worker import OUTCOME_SIZE, TIMEOUT_SIGNAL

#: Imported once in the fork server, so each worker starts with them loaded. ``encodings.ascii``
#: is the codec the standard ``write`` action reads ``/proc/self/status`` with: imported in each
#: worker instead, it cost 1.4 ms of CPU per task.
PRELOAD = [
    "agentexec.batch.worker",
    "agentexec.executors",
    "agentexec.runtimes.local",
    "agentexec.agents.scripted",
    "encodings.ascii",
]


@dataclass
class Slot:
    """One running job: the pipe its outcome arrives on, its worker, and how it is being stopped."""

    job: Job
    pipe: int
    deadline: Optional[float]
    data: bytearray = field(default_factory=bytearray)
    eof: bool = False
    #: None until the server reports the worker started.
    pid: Optional[int] = None
    #: Set when the worker has ended (as ``Popen.returncode``: negative for a signal).
    exitcode: Optional[int] = None
    #: Why there is no worker to wait for (the fork failed, the server is gone).
    failure: Optional[str] = None
    stop_reason: Optional[str] = None
    kill_at: Optional[float] = None

    def outcome(self) -> Optional[dict[str, Any]]:
        """The worker's outcome once all of it has arrived."""
        if len(self.data) < OUTCOME_SIZE.size:
            return None
        (size,) = OUTCOME_SIZE.unpack_from(self.data)
        if len(self.data) < OUTCOME_SIZE.size + size:
            return None
        outcome: dict[str, Any] = pickle.loads(self.data[OUTCOME_SIZE.size : OUTCOME_SIZE.size + size])
        return outcome


class LocalEngine:
    """Runs each job in its own process from a fork server; stops and kills them when told or late."""

    name = "local"

    def __init__(self, workers: int, preload: list[str]) -> None:
        self.workers = workers
        # Ready when this returns, as a Ray cluster is with its engine: the first task does not wait for it.
        self.server = ForkServer(PRELOAD + preload)
        self.slots: dict[str, Slot] = {}
        self.starting: deque[Slot] = deque()  # submitted, their STARTED record still to come (in order)
        self.pids: dict[int, Slot] = {}

    def capacity(self) -> int:
        return self.workers

    def running(self) -> int:
        return len(self.slots)

    def submit(self, job: Job) -> None:
        receiver, sender = os.pipe()
        os.set_blocking(receiver, False)
        try:
            self.server.start(pickle.dumps(job), sender)
        except BaseException:
            os.close(receiver)
            raise
        finally:
            os.close(sender)  # the server holds it now, and then the worker alone
        slot = Slot(job, receiver, time.monotonic() + job.timeout if job.timeout else None)
        self.slots[job.task_id] = slot
        self.starting.append(slot)

    def wait(self, timeout: float) -> list[Completion]:
        """Block up to ``timeout`` seconds (less when a deadline is nearer) for jobs to end."""
        self._enforce(time.monotonic())
        waits = [wait for s in self.slots.values() if (wait := s.kill_at or s.deadline) is not None]
        if waits:
            timeout = max(0.0, min(timeout, min(waits) - time.monotonic()))
        poller = select.poll()
        if self.server.alive:
            poller.register(self.server.fileno(), select.POLLIN)
        readers = {slot.pipe: slot for slot in self.slots.values() if not slot.eof}
        for fd in readers:
            poller.register(fd, select.POLLIN)
        ready = {fd for fd, _ in poller.poll(timeout * 1000)}
        if self.server.fileno() in ready:
            self._records()
        for fd in ready & readers.keys():
            _read(readers[fd])
        done = [completion for slot in list(self.slots.values()) if (completion := self._collect(slot)) is not None]
        self._enforce(time.monotonic())
        return done

    def cancel(self) -> None:
        for slot in self.slots.values():
            self._stop(slot, "cancelled", time.monotonic())

    def close(self) -> None:
        """Kill the workers still running and wait (up to 5 s) until the server reports them ended."""
        deadline = time.monotonic() + 5
        while self.server.alive and time.monotonic() < deadline:
            for slot in self.slots.values():
                self._signal(slot, signal.SIGKILL)
            if not any(slot.exitcode is None and slot.failure is None for slot in self.slots.values()):
                break
            select.select([self.server.fileno()], [], [], 0.05)
            self._records()
        for slot in self.slots.values():
            os.close(slot.pipe)
        self.slots.clear()
        self.server.close()

    def _records(self) -> None:
        """Apply the server's reports: workers started (or not), workers ended."""
        for kind, pid, value in self.server.records():
            if kind == STARTED:
                slot = self.starting.popleft()
                if pid == 0:
                    slot.failure = f"could not start a worker process: {os.strerror(value)}"
                    continue
                slot.pid = pid
                self.pids[pid] = slot
                if slot.stop_reason is not None:  # stopped before it started
                    self._signal(slot, _stop_signal(slot.stop_reason))
            elif kind == EXITED and pid in self.pids:
                self.pids.pop(pid).exitcode = value
        if not self.server.alive:
            for slot in self.starting:
                slot.failure = "the batch fork server exited before starting a worker for it"
            self.starting.clear()

    def _collect(self, slot: Slot) -> Optional[Completion]:
        """The job's outcome if its worker sent one or ended; None if it is still going."""
        outcome = slot.outcome()
        if outcome is None:
            if slot.exitcode is None and slot.failure is None:
                if self.server.alive or not slot.eof:
                    return None
                slot.failure = "worker process ended without a result (its exit status went with the fork server)"
            _read(slot)  # what it wrote before it ended
            outcome = slot.outcome()
        del self.slots[slot.job.task_id]
        os.close(slot.pipe)
        job = slot.job
        if slot.stop_reason is not None:
            returned = outcome["result"] if outcome else None
            return Completion(job, stopped_result(job, slot.stop_reason, returned), lost=outcome is None)
        if outcome is None:
            return Completion(job, lost_result(job, "crashed", slot.failure or _death(slot.exitcode)), lost=True)
        return Completion(job, outcome["result"], outcome["lines"], elapsed=outcome["elapsed"])

    def _enforce(self, now: float) -> None:
        for slot in self.slots.values():
            if slot.stop_reason is None and slot.deadline is not None and now >= slot.deadline:
                self._stop(slot, "timeout", now)
            elif slot.kill_at is not None and now >= slot.kill_at:
                self._signal(slot, signal.SIGKILL)

    def _stop(self, slot: Slot, reason: str, now: float) -> None:
        """Ask the worker to stop (SIGTERM becomes KeyboardInterrupt in the loop); kill it if it lingers."""
        if slot.stop_reason is not None:
            return
        slot.stop_reason, slot.kill_at = reason, now + STOP_GRACE
        self._signal(slot, _stop_signal(reason))

    @staticmethod
    def _signal(slot: Slot, signum: int) -> None:
        """Signal a worker that has started and not yet been reported ended (so its pid is still its own)."""
        if slot.pid is None or slot.exitcode is not None:
            return
        try:
            os.kill(slot.pid, signum)
        except ProcessLookupError:
            pass


def _stop_signal(reason: str) -> signal.Signals:
    """The signal that asks a worker to stop, telling it why: its timeout, or anything else."""
    return TIMEOUT_SIGNAL if reason == "timeout" else signal.SIGTERM


def _read(slot: Slot) -> None:
    """What the worker's pipe holds now, without waiting; ``eof`` once every writer has closed it."""
    while not slot.eof:
        try:
            chunk = os.read(slot.pipe, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            slot.eof = True
        slot.data += chunk


def _death(exitcode: Optional[int]) -> str:
    """Why a worker process ended without a result, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process was killed by {name}"
    return f"worker process exited with code {exitcode} before returning a result"
