"""The local engine: every task in a fresh worker process, at most ``workers`` at a time.

A fresh process per task is the isolation unit: a task that raises, hangs or kills its process
(``os._exit``, ``kill -9``) takes nothing else with it, and no state leaks from one task into the
next. Processes come from a ``forkserver`` that has already imported agentexec and the user's
classes, so starting one costs a fork rather than an interpreter start, and the driver itself
(which runs a progress display thread) never forks.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Optional

from agentexec.batch.engine import STOP_GRACE, Completion, lost_result, stopped_result
from agentexec.batch.jobs import Job
from agentexec.batch.worker import process_main

#: Imported once in the fork server, so each worker starts with them loaded.
PRELOAD = ["agentexec.batch.worker", "agentexec.executors", "agentexec.runtimes.local", "agentexec.agents.scripted"]


def driver_modules() -> list[str]:
    """agentexec modules the driver has imported: the CLI among them.

    A worker re-runs the driver's main script when it starts (multiprocessing's way to find the
    main module's functions); for the ``agentexec`` console script that means importing the CLI and
    typer, tens of milliseconds per task unless the fork server has them already.
    """
    return sorted(name for name in list(sys.modules) if name == "agentexec" or name.startswith("agentexec."))


@dataclass
class Slot:
    """One running job: its process, the pipe its outcome arrives on, and how it is being stopped."""

    job: Job
    process: Any
    connection: Connection
    deadline: Optional[float]
    stop_reason: Optional[str] = None
    kill_at: Optional[float] = None


class LocalEngine:
    """Runs each job in its own process from a fork server; stops and kills them when told or late."""

    name = "local"

    def __init__(self, workers: int, preload: list[str]) -> None:
        self.workers = workers
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(PRELOAD + driver_modules() + preload)
        # Start it now, with the engine (as a Ray cluster starts with its engine), not with the first task.
        multiprocessing.forkserver.ensure_running()
        self.slots: dict[str, Slot] = {}

    def capacity(self) -> int:
        return self.workers

    def running(self) -> int:
        return len(self.slots)

    def submit(self, job: Job) -> None:
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(target=process_main, args=(job, sender), name=f"agentexec-batch:{job.task_id}")
        process.start()
        sender.close()
        deadline = time.monotonic() + job.timeout if job.timeout else None
        self.slots[job.task_id] = Slot(job, process, receiver, deadline)

    def wait(self, timeout: float) -> list[Completion]:
        """Block up to ``timeout`` seconds (less when a deadline is nearer) for jobs to end."""
        self._enforce(time.monotonic())
        waits = [s.kill_at or s.deadline for s in self.slots.values() if (s.kill_at or s.deadline)]
        if waits:
            timeout = max(0.0, min(timeout, min(waits) - time.monotonic()))
        handles: list[Any] = [h for s in self.slots.values() for h in (s.connection, s.process.sentinel)]
        ready = set(wait(handles, timeout)) if handles else set()
        done = []
        for task_id, slot in list(self.slots.items()):
            if slot.connection in ready or slot.process.sentinel in ready:
                completion = self._collect(slot)
                if completion is not None:
                    del self.slots[task_id]
                    done.append(completion)
        self._enforce(time.monotonic())
        return done

    def cancel(self) -> None:
        for slot in self.slots.values():
            self._stop(slot, "cancelled", time.monotonic())

    def close(self) -> None:
        for slot in self.slots.values():
            if slot.process.is_alive():
                slot.process.kill()
            slot.process.join(timeout=5)
        self.slots.clear()

    def _enforce(self, now: float) -> None:
        for slot in self.slots.values():
            if slot.stop_reason is None and slot.deadline is not None and now >= slot.deadline:
                self._stop(slot, "timeout", now)
            elif slot.kill_at is not None and now >= slot.kill_at and slot.process.is_alive():
                slot.process.kill()

    def _stop(self, slot: Slot, reason: str, now: float) -> None:
        """Ask the worker to stop (SIGTERM becomes KeyboardInterrupt in the loop); kill it if it lingers."""
        if slot.stop_reason is not None:
            return
        slot.stop_reason, slot.kill_at = reason, now + STOP_GRACE
        if slot.process.is_alive() and slot.process.pid:
            try:
                os.kill(slot.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _collect(self, slot: Slot) -> Optional[Completion]:
        """The job's outcome if its worker sent one or died; None if it is still going."""
        outcome: Optional[dict[str, Any]] = None
        if slot.connection.poll():
            try:
                outcome = slot.connection.recv()
            except (EOFError, OSError):
                outcome = None
        elif slot.process.is_alive():
            return None
        slot.process.join(timeout=STOP_GRACE)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join()
        slot.connection.close()
        job = slot.job
        if slot.stop_reason is not None:
            returned = outcome["result"] if outcome else None
            return Completion(job, stopped_result(job, slot.stop_reason, returned), lost=outcome is None)
        if outcome is None:
            return Completion(job, lost_result(job, "crashed", _death(slot.process.exitcode)), lost=True)
        return Completion(job, outcome["result"], outcome["lines"], elapsed=outcome["elapsed"])


def _death(exitcode: Optional[int]) -> str:
    """Why a worker process ended without a result, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker process was killed by {name}"
    return f"worker process exited with code {exitcode} before returning a result"
