"""The driver's loop: submit jobs up to the engine's capacity, collect results, write OUT.

Interrupts: the first SIGINT stops scheduling and lets running tasks finish; a second one (or
SIGTERM) cancels them. Signal handlers only set flags; the loop acts on them within
``POLL_SECONDS``, so the summary is written by one thread in a consistent state whatever happens.
"""

from __future__ import annotations

import json
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentexec.batch.engine import Completion, Engine, lost_result
from agentexec.batch.jobs import Job
from agentexec.batch.progress import Counts, Reporter
from agentexec.batch.summary import Summary, entry_of
from agentexec.eventlog import EventLogWriter, make_header, result_record

POLL_SECONDS = 0.2


class Scheduler:
    """Runs ``jobs`` on ``engine``, recording each end in ``summary`` and reporting progress."""

    def __init__(self, engine: Engine, summary: Summary, reporter: Reporter) -> None:
        self.engine = engine
        self.summary = summary
        self.reporter = reporter
        self.stopping = False
        self.cancelling = False
        self.submitted: dict[str, float] = {}

    def interrupt(self, signum: int, frame: Any) -> None:
        """First Ctrl-C: stop scheduling. Second Ctrl-C or SIGTERM: cancel running tasks too."""
        if self.stopping or signum == signal.SIGTERM:
            self.cancelling = True
        self.stopping = True

    def run(self, jobs: list[Job]) -> dict[str, Any]:
        pending = deque(jobs)
        counts = Counts(total=len(self.summary.entries), to_run=len(jobs))
        self.reporter.start(counts, self.engine.name, self.engine.capacity(), self.summary.reused)
        self.summary.save()
        told_stop = told_cancel = False
        with _handling([signal.SIGINT, signal.SIGTERM], self.interrupt):
            while pending or self.engine.running():
                while pending and not self.stopping and self.engine.running() < self.engine.capacity():
                    job = pending.popleft()
                    self.submitted[job.task_id] = time.monotonic()
                    counts.running += 1
                    self.reporter.task_started(job.task_id, counts)
                    try:
                        self.engine.submit(job)
                    except Exception as exc:  # noqa: BLE001 - a job the engine cannot take fails alone
                        message = f"the {self.engine.name} engine could not start it: {type(exc).__name__}: {exc}"
                        self._finish(Completion(job, lost_result(job, "error", message), lost=True), counts)
                if self.stopping and not told_stop:
                    told_stop = True
                    self.reporter.notice(
                        f"interrupted: {len(pending)} tasks will not start; waiting for {self.engine.running()} "
                        "running (interrupt again to cancel them)"
                    )
                if self.cancelling and not told_cancel:
                    told_cancel = True
                    self.reporter.notice(f"cancelling {self.engine.running()} running tasks")
                    self.engine.cancel()
                for completion in self.engine.wait(POLL_SECONDS):
                    self._finish(completion, counts)
                if self.stopping and not self.engine.running():
                    break
        self.summary.interrupted = self.stopping
        self.summary.save()
        data = self.summary.data()
        self.reporter.finish(data, str(self.summary.path))
        return data

    def _finish(self, completion: Completion, counts: Counts) -> None:
        job, result = completion.job, completion.result
        result["log"] = job.log_path
        if not result.get("duration"):  # the worker never said: count from submission
            result["duration"] = time.monotonic() - self.submitted[job.task_id]
        write_log(completion)
        entry = entry_of(result)
        self.summary.record(entry)
        counts.running -= 1
        counts.done += 1
        counts.passed += entry["passed"]
        counts.failed += not entry["passed"]
        self.reporter.task_finished(entry, counts, completion.elapsed)


def write_log(completion: Completion) -> None:
    """Write the lines a remote worker returned; close the log of a worker that never returned."""
    job, path = completion.job, Path(completion.job.log_path)
    if completion.lines is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in completion.lines), encoding="utf-8")
    if not completion.lost:
        return
    if path.is_file() and path.stat().st_size:
        with open(path, "rb+") as log:
            log.seek(-1, 2)
            cut = log.read(1) != b"\n"  # a worker killed mid-line leaves half a line: end it first
            log.write((("\n" if cut else "") + json.dumps(result_record(completion.result)) + "\n").encode())
        return
    writer = EventLogWriter(path)
    writer.write(make_header(job.task, job.config))
    writer.write(result_record(completion.result))
    writer.close()


@contextmanager
def _handling(signals: list[signal.Signals], handler: Callable[[int, Any], None]) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
