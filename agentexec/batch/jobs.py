"""What travels to a worker: one task, the configuration, and where its workspace comes from.

A ``Job`` is plain data (picklable, no open files, no classes), because it crosses a process
boundary in the local engine and a network in the Ray engine. For Ray the task's workspace
directory travels inside the job as a tar archive, since the worker may not see the driver's disk.
"""

from __future__ import annotations

import functools
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from agentexec.config import Config, CoreConfig
from agentexec.replay.start import SnapshotLimits, copy_record
from agentexec.tasks import Task


@dataclass
class Job:
    """One task as a worker receives it.

    ``log_path`` is where the driver keeps the task's log; the worker writes it there itself only
    when ``write_log`` is true (the local engine), else returns the log lines (Ray).
    ``workspace_dir`` is where to make the workspace; None means a temporary directory that is
    removed afterwards (Ray, whose workers need not share the driver's disk).
    """

    task: dict[str, Any]
    config: dict[str, Any]
    max_iterations: int
    log_path: str
    write_log: bool
    workspace_dir: Optional[str] = None
    copy_from: Optional[str] = None
    archive: Optional[bytes] = None
    #: The log header's ``start``: the task's directory and its manifest digest (see ``replay.start``).
    start: Optional[dict[str, Any]] = None

    @property
    def task_id(self) -> str:
        return str(self.task["id"])

    @property
    def timeout(self) -> Optional[float]:
        return self.task.get("timeout")


def config_data(config: Config) -> dict[str, Any]:
    """The configuration as plain data, with the directory its relative imports resolve from."""
    return {**config.to_dict(), "base_dir": str(config.base_dir)}


def config_from_data(data: dict[str, Any]) -> Config:
    """Rebuild a ``Config`` in a worker from ``config_data``'s output."""
    sections = {name: dict(value) for name, value in data.items() if name not in ("core", "base_dir")}
    return Config(
        core=CoreConfig.model_validate(data["core"]),
        sections=sections,
        sources={},
        base_dir=Path(data["base_dir"]),
    )


def make_job(
    task: Task,
    config: dict[str, Any],
    *,
    default_timeout: Optional[float],
    default_max_iterations: int,
    log_path: Path,
    local: bool,
    workspace_root: Path,
) -> Job:
    """A job for ``task``: its timeout falls back to the batch default, its workspace is fresh."""
    data = task.model_dump(mode="json")
    if data.get("timeout") is None:
        data["timeout"] = default_timeout
    job = Job(
        task=data,
        config=config,
        max_iterations=task.max_iterations or default_max_iterations,
        log_path=str(log_path),
        write_log=local,
    )
    if task.workspace:
        core = CoreConfig.model_validate(config.get("core") or {})
        job.start = copied_start(str(Path(task.workspace).resolve()), core.snapshot_max_bytes, core.snapshot_max_files)
    if local:
        job.workspace_dir = str(workspace_root / task.id)
        job.copy_from = task.workspace
    elif task.workspace:
        job.archive = pack(Path(task.workspace))
    return job


@functools.lru_cache(maxsize=16)
def copied_start(directory: str, max_bytes: int, max_files: int) -> dict[str, Any]:
    """The ``start`` record of a task's directory, hashed once for all the tasks that share it."""
    return copy_record(Path(directory), SnapshotLimits(max_bytes, max_files))


@functools.lru_cache(maxsize=4)
def pack(directory: Path) -> bytes:
    """A directory's contents as an uncompressed tar archive in memory (packed once for many tasks)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(directory, arcname=".")
    return buffer.getvalue()


def unpack(data: bytes, destination: Path) -> None:
    """Extract ``pack``'s archive; the ``data`` filter refuses paths that leave ``destination``."""
    safe: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(destination, **safe)
