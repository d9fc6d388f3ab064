"""Running one ``Job`` where a worker lives: a local worker process or a Ray worker.

``run_job`` never raises for a failing task: a class that cannot load, an executor that raises
in ``setup`` or an agent bug all become an ``error`` result with the reason, and the log (written
here, or returned as lines for the driver to write) always ends with that result.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Optional

from agentexec.assembly import build_agent
from agentexec.batch.jobs import Job, config_from_data, unpack
from agentexec.eventlog import result_record
from agentexec.executors import ActionExecutor
from agentexec.loading import KINDS, registered
from agentexec.loop import LogSink, RunResult, Sink, Stopped
from agentexec.outcomes import Outcome
from agentexec.session import Session, SessionPlan, session_header
from agentexec.streamed import StreamsForTheLog
from agentexec.tasks import Task

#: How the local engine stops a task at its timeout (SIGTERM stops it for any other reason).
TIMEOUT_SIGNAL = signal.SIGUSR1
#: Prefix of a local worker's outcome on its pipe: the length of the pickle that follows.
OUTCOME_SIZE = struct.Struct("!Q")

# Imported in the fork server, so every task's process inherits the standard actions' argument
# models and schemas and the installed entry points instead of building and scanning them again
# (about 15 ms a task each), and the temporary directory, which tempfile otherwise finds in each
# worker by creating and deleting a file there.
ActionExecutor.action_schemas()
for _kind in KINDS:
    registered(_kind)
tempfile.gettempdir()


class MemorySink:
    """An event log kept as JSON lines in memory, for a driver on another machine to write."""

    def __init__(self, on_line: Optional[Callable[[str], None]] = None) -> None:
        self.lines: list[str] = []
        self.kept = StreamsForTheLog()
        #: Sees each line as it is made, so a driver can keep the log of a worker killed before it returns.
        self.on_line = on_line

    def _add(self, line: str) -> None:
        self.lines.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def header(self, header: dict[str, Any]) -> None:
        self._add(json.dumps(header, ensure_ascii=False))

    def record(self, record: dict[str, Any]) -> None:
        for kept in self.kept.to_write(record):  # as the log file keeps them
            self._add(json.dumps(kept, ensure_ascii=False))

    def finish(self, result: RunResult) -> None:
        self._add(json.dumps(result_record(result.to_dict()), ensure_ascii=False))


class HeaderOnce:
    """Forwards to a sink and remembers whether the header went out, so a setup failure can log one."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.started = False

    def header(self, header: dict[str, Any]) -> None:
        self.started = True
        self.sink.header(header)

    def record(self, record: dict[str, Any]) -> None:
        self.sink.record(record)

    def finish(self, result: RunResult) -> None:
        self.sink.finish(result)


def run_job(job: Job, on_line: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Run one task in a fresh workspace; return ``{"result": ..., "lines": ... or None, "elapsed": s}``.

    ``on_line`` sees every log line a job that returns its lines makes, as it is made."""
    started = time.monotonic()
    task = Task.model_validate(job.task)
    memory = None if job.write_log else MemorySink(on_line)
    sink = HeaderOnce(memory or LogSink(job.log_path))
    workspace, temporary = _workspace(job)
    config = config_from_data(job.config)
    plan = SessionPlan(
        config,
        str(workspace),
        job.log_path,
        env=task.env,
        task=job.task,
        log=sink,
        outputs_beside_log=job.write_log,  # a log the driver writes elsewhere has no directory here
        start=job.start,
    )
    session = Session(plan)
    try:
        agent = build_agent(config)
        session.start()
        result = session.run(task, agent, max_iterations=job.max_iterations)
    except BaseException as exc:  # noqa: BLE001 - even SystemExit from user code fails this task alone
        outcome = Outcome.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else Outcome.ERROR
        result = RunResult(task.id, outcome, message=f"{type(exc).__name__}: {exc}", log_path=job.log_path)
        if not sink.started:
            sink.header(session_header(plan))
        sink.finish(result)
    finally:
        _close(session)
        if temporary:
            shutil.rmtree(workspace, ignore_errors=True)
    lines = memory.lines if memory else None
    return {"result": result.to_dict(), "lines": lines, "elapsed": time.monotonic() - started}


def _workspace(job: Job) -> tuple[Path, bool]:
    """A fresh workspace: a copy of the task's directory, else empty; temporary when the job says so."""
    if job.workspace_dir is None:
        path, temporary = Path(tempfile.mkdtemp(prefix=f"agentexec-{job.task_id[:40]}-")), True
    else:
        path, temporary = Path(job.workspace_dir), False
        shutil.rmtree(path, ignore_errors=True)
    if job.copy_from:
        shutil.copytree(job.copy_from, path, symlinks=True, dirs_exist_ok=True)
    elif job.archive is not None:
        unpack(job.archive, path)
    path.mkdir(parents=True, exist_ok=True)
    return path, temporary


def _close(session: Session) -> None:
    try:
        session.close()
    except Exception:  # noqa: BLE001 - the result is already decided; a close failure must not hide it
        pass


def process_main(job: Job, result_fd: int) -> NoReturn:
    """Entry point of a local worker process: run the job, write the outcome to the driver's pipe.

    The terminal's Ctrl-C reaches the whole process group, but the first one must let running
    tasks finish: SIGINT is caught and dropped here (a handler, not SIG_IGN, so the task's own
    processes still get Ctrl-C after exec). SIGTERM is how the driver asks the task to stop; it
    becomes KeyboardInterrupt, so the loop records the interruption and closes the log and runtime.
    The engine stops a task at its timeout with ``TIMEOUT_SIGNAL`` instead, so the log says so.
    The outcome is a pickle behind its 8-byte length, so the driver knows when it has all of it.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    signal.signal(signal.SIGTERM, _stop_with(CANCELLED))
    if job.timeout:
        signal.signal(TIMEOUT_SIGNAL, _stop_with(timeout_reason(job)))
    outcome = run_job(job)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(TIMEOUT_SIGNAL, signal.SIG_IGN)
    data = pickle.dumps(outcome)
    try:
        with open(result_fd, "wb", closefd=True) as pipe:
            pipe.write(OUTCOME_SIZE.pack(len(data)) + data)
    except BrokenPipeError:  # the driver is gone: nobody is left to tell
        pass
    # Nothing is left to clean up (run_job closed the runtime) and the driver has the outcome; skip
    # the interpreter's exit work (atexit hooks, joining leftover threads) and the fork server's loop.
    os._exit(0)


#: What a task's log says when the engine stops it: the batch was cancelled, or its timeout came.
CANCELLED = "interrupted: the batch was cancelled"


def timeout_reason(job: Job) -> str:
    return f"task timeout of {job.timeout:g} s reached; the batch engine stopped it"


def _stop_with(reason: str) -> Callable[[int, Any], None]:
    """A signal handler that stops the task as Ctrl-C would, saying why in its log."""

    def handler(signum: int, frame: Any) -> None:
        raise Stopped(reason)

    return handler
