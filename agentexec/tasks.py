"""The task file: what to do, where, which files go in and out, and how to tell whether it was done.

Relative paths in a task file (``workspace``, an upload's ``path``) are relative to the file's
directory. A malformed file is reported as ``file:line:column`` for JSON errors and by field path
for schema errors. Paths inside the workspace (an upload's ``to``, a download's ``path``) must be
relative and stay inside it, and a download's ``to`` inside the run's output directory, so the
same task means the same thing under every runtime, wherever each puts the workspace.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agentexec.errors import TaskFileError
from agentexec.events import Action, describe_validation_error


def _inside(path: str, where: str) -> str:
    """``path`` if it is relative and stays inside ``where``; else a ValueError saying why."""
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise ValueError(f"{path!r} must be relative to {where}, so the task runs the same under every runtime")
    if ".." in pure.parts:
        raise ValueError(f"{path!r} must stay inside {where} (no '..')")
    return path


def _default_name(path: str) -> str:
    name = PurePosixPath(path).name
    if not name or name == "..":
        raise ValueError(f"{path!r} has no name of its own; give 'to'")
    return name


class FileEntry(BaseModel):
    """A file or directory to carry: ``path`` on one side, ``to`` on the other (default: its name).

    A directory's content goes into ``to``; modes and symlinks are kept. In a task file an entry
    may be a plain string, its ``path``.
    """

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1)
    to: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class Upload(FileEntry):
    """Copied into the workspace before the agent starts; ``path`` is on this machine, relative to the task file."""

    @model_validator(mode="after")
    def _target(self) -> Upload:
        self.to = _inside(self.to or _default_name(self.path), "the workspace")
        return self


class Download(FileEntry):
    """Copied out of the workspace after the run, into the run's output directory (``<log>.outputs``)."""

    @field_validator("path")
    @classmethod
    def _source(cls, path: str) -> str:
        return _inside(path, "the workspace")

    @model_validator(mode="after")
    def _target(self) -> Download:
        self.to = _inside(self.to or _default_name(self.path), "the run's output directory")
        return self


class Task(BaseModel):
    """One task: ``actions`` feed the scripted agent, ``check`` actions decide pass or fail."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field("task", min_length=1)
    instruction: str = ""
    workspace: Optional[str] = None
    env: dict[str, str] = Field(default_factory=dict)
    actions: list[Action] = Field(default_factory=list)
    check: list[Action] = Field(default_factory=list)
    timeout: Optional[float] = Field(None, gt=0)
    max_iterations: Optional[int] = Field(None, ge=1)
    upload: list[Upload] = Field(default_factory=list)
    download: list[Download] = Field(default_factory=list)

    @field_validator("download")
    @classmethod
    def _distinct_targets(cls, downloads: list[Download]) -> list[Download]:
        seen: set[str] = set()
        for entry in downloads:
            target = str(PurePosixPath(entry.to))
            if target in seen:
                raise ValueError(f"two downloads go to {entry.to!r}; give each its own 'to'")
            seen.add(target)
        return downloads


def parse_task(data: Any, origin: str = "task", base_dir: Optional[Path] = None) -> Task:
    """Validate task data; ``workspace`` and upload paths become absolute against ``base_dir`` (or the
    current directory), and every upload must exist now, not halfway through a run."""
    if not isinstance(data, dict):
        raise TaskFileError(f"{origin}: a task must be a JSON object, got {type(data).__name__}")
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise TaskFileError(f"{origin}: {describe_validation_error(exc)}") from None
    if task.workspace is not None and base_dir is not None:
        path = Path(task.workspace).expanduser()
        task.workspace = str(path if path.is_absolute() else (base_dir / path).resolve())
    for number, entry in enumerate(task.upload):
        source = Path(entry.path).expanduser()
        source = source if source.is_absolute() else (base_dir or Path.cwd()) / source
        if not source.exists() and not source.is_symlink():
            raise TaskFileError(
                f"{origin}: upload[{number}]: {entry.path} does not exist (looked for {source}); "
                "fix the path, relative to the task file"
            )
        entry.path = str(source.resolve())
    return task


def load_task(path: str | Path) -> Task:
    """Read and validate a task file, with errors that point into it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskFileError(f"task file {path} not found; check the path") from None
    except IsADirectoryError:
        raise TaskFileError(f"task file {path} is a directory; give a .json file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"task file {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise TaskFileError(f"{path}: invalid JSON: nested too deeply; a task is a flat object of actions") from None
    return parse_task(data, str(path), file.resolve().parent)
