"""A task's files: uploaded into the workspace before the agent starts, downloaded after it ends.

The run loop calls ``before`` once the log has its header and ``after`` however the run ended
(finished, failed, timed out, interrupted), so results and patches come back from a run that
went wrong too, which is when they are wanted most. Both go through the runtime's ``upload`` and
``download``, so the same task carries its files under ``local``, ``process``, ``sandbox``,
``docker`` and ``ssh``. Each transfer is one ``transfer`` note in the event log (direction,
paths, bytes, seconds, and the error if it failed): not an event, since no executor action ran.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional, Protocol

from pydantic import ValidationError

from agentexec.errors import AgentexecError, UsageError
from agentexec.eventlog import note_record
from agentexec.events import describe_validation_error
from agentexec.runtimes.base import Runtime
from agentexec.tasks import Download, Task, Upload

#: The key of a transfer note in the event log.
TRANSFER_NOTE = "transfer"


class Notes(Protocol):
    """Where notes go: the run's recorder (masking secrets, handing them to every sink)."""

    def note(self, record: dict[str, Any]) -> None: ...


class TaskFilesError(AgentexecError):
    """An upload failed, so the agent never started: the run ends as an error."""


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file beneath a directory (links not followed)."""
    if not path.is_dir() or path.is_symlink():
        return path.lstat().st_size
    return sum((Path(folder) / name).lstat().st_size for folder, _, names in os.walk(path) for name in names)


class TaskFiles:
    """Carries ``task``'s uploads and downloads through ``runtime``; downloads land in ``output_dir``."""

    def __init__(self, task: Task, runtime: Runtime, output_dir: Optional[str]) -> None:
        self.uploads: list[Upload] = list(task.upload)
        self.downloads: list[Download] = list(task.download)
        self.runtime = runtime
        self.output_dir = Path(output_dir) if output_dir else None

    @classmethod
    def recorded(cls, task: Any, runtime: Runtime, output_dir: Optional[str]) -> Optional[TaskFiles]:
        """The files of a log header's task, for a replay to carry as the run did; None when it has none.

        Only ``upload`` and ``download`` are read (an imported trajectory's task is no agentexec
        task); upload paths were made absolute when the run loaded its task file.
        """
        if not isinstance(task, dict) or not (task.get("upload") or task.get("download")):
            return None
        try:
            wanted = Task.model_validate({"upload": task.get("upload") or [], "download": task.get("download") or []})
        except ValidationError as exc:
            what = describe_validation_error(exc)
            raise UsageError(f"the log's task has bad upload/download entries: {what}") from None
        return cls(wanted, runtime, output_dir)

    def __bool__(self) -> bool:
        return bool(self.uploads or self.downloads)

    def before(self, notes: Notes) -> None:
        """Upload every entry, in order; the first failure raises ``TaskFilesError`` (the agent does not start)."""
        for entry in self.uploads:
            source = Path(entry.path)
            started = time.monotonic()
            try:
                self.runtime.upload(source, entry.to)
            except (OSError, AgentexecError) as exc:
                notes.note(_note("upload", entry.path, entry.to, started, error=_reason(exc)))
                raise TaskFilesError(f"upload {entry.path} -> {entry.to} failed: {_reason(exc)}") from None
            notes.note(_note("upload", entry.path, entry.to, started, size=size_of(source)))

    def after(self, notes: Notes) -> list[str]:
        """Download every entry, whatever failed before; what went wrong, one line per download.

        A Ctrl-C here stops the downloads left (they are noted as not done), and the run's result
        is still written.
        """
        problems: list[str] = []
        for number, entry in enumerate(self.downloads):
            started = time.monotonic()
            if self.output_dir is None:
                why = "this run has no output directory (its log is written elsewhere)"
                notes.note(_note("download", entry.path, entry.to, started, error=why))
                problems.append(f"download {entry.path} skipped: {why}")
                continue
            target = self.output_dir / entry.to
            try:
                self.runtime.download(entry.path, target)
            except KeyboardInterrupt:
                for skipped in self.downloads[number:]:
                    notes.note(_note("download", skipped.path, skipped.to, started, error="interrupted"))
                problems.append("downloads interrupted by the user")
                break
            except (OSError, AgentexecError) as exc:
                notes.note(_note("download", entry.path, str(target), started, error=_reason(exc)))
                problems.append(f"download {entry.path} failed: {_reason(exc)}")
                continue
            notes.note(_note("download", entry.path, str(target), started, size=size_of(target)))
        return problems


def _reason(exc: BaseException) -> str:
    """An error's message without Python's ``[Errno 2]`` prefix (transfer errors name their path)."""
    strerror = getattr(exc, "strerror", None)
    return strerror if isinstance(exc, OSError) and strerror else str(exc)


def describe_transfer(note: dict[str, Any]) -> str:
    """One line for a person: ``⇡ upload fixtures -> repo (2048 bytes, 0.01 s)`` or why it failed."""
    arrow = "⇡" if note.get("direction") == "upload" else "⇣"
    line = f"{arrow} {note.get('direction', 'transfer')} {note.get('path', '')} -> {note.get('to', '')}"
    if note.get("error"):
        return f"{line} failed: {note['error']}"
    return f"{line} ({note.get('bytes', 0)} bytes, {note.get('duration', 0):.2f} s)"


def _note(
    direction: str, source: str, target: str, started: float, size: Optional[int] = None, error: Optional[str] = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "direction": direction,
        "path": source,
        "to": target,
        "duration": round(time.monotonic() - started, 6),
    }
    if size is not None:
        body["bytes"] = size
    if error is not None:
        body["error"] = error
    return note_record(TRANSFER_NOTE, body)
