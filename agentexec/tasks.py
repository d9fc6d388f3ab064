"""The task file: what to do, where, and how to tell whether it was done.

Relative paths in a task file (``workspace``) are relative to the file's directory. A malformed
file is reported as ``file:line:column`` for JSON errors and by field path for schema errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentexec.errors import TaskFileError
from agentexec.events import Action, describe_validation_error


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


def parse_task(data: Any, origin: str = "task", base_dir: Optional[Path] = None) -> Task:
    """Validate task data; ``workspace`` becomes absolute against ``base_dir``."""
    if not isinstance(data, dict):
        raise TaskFileError(f"{origin}: a task must be a JSON object, got {type(data).__name__}")
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise TaskFileError(f"{origin}: {describe_validation_error(exc)}") from None
    if task.workspace is not None and base_dir is not None:
        path = Path(task.workspace).expanduser()
        task.workspace = str(path if path.is_absolute() else (base_dir / path).resolve())
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
