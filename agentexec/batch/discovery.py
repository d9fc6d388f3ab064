"""Finding a batch's tasks: task files, directories of task files, JSON-lines files of tasks.

A task without an ``id`` is named after its file (``name``, or ``name-LINE`` in a ``.jsonl``).
A directory contributes its own ``*.json`` and ``*.jsonl`` files (not its subdirectories, which are
usually task workspaces with JSON files of their own). Every task keeps where it came from, so a
duplicate id or a bad line is reported as ``file:line``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from agentexec.errors import TaskFileError
from agentexec.tasks import Task, load_task, parse_task

#: Characters a task id may not contain: it names the task's log file and workspace directory.
UNSAFE_ID_CHARS = ("/", "\\", "\0")


@dataclass
class FoundTask:
    """A task and the place it was read from (``file`` or ``file:line``)."""

    task: Task
    origin: str


def discover(paths: list[Path]) -> list[FoundTask]:
    """Every task under ``paths``, in the order given; ids must be unique and usable as file names."""
    found: list[FoundTask] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl") and p.is_file())
            if not files:
                raise TaskFileError(f"directory {path} holds no *.json or *.jsonl task files")
            for file in files:
                found.extend(_read(file))
        elif path.exists():
            found.extend(_read(path))
        else:
            raise TaskFileError(f"task path {path} not found; give task files, directories or .jsonl files")
    if not found:
        raise TaskFileError("no tasks found; give task files, directories of them, or a .jsonl file")
    _check_ids(found)
    return found


def _read(file: Path) -> list[FoundTask]:
    if file.suffix != ".jsonl":
        task = load_task(file)
        if "id" not in task.model_fields_set:
            task.id = file.stem
        return [FoundTask(task, str(file))]
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"tasks file {file} cannot be read: {exc}") from None
    tasks = []
    base = file.resolve().parent
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        origin = f"{file}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{origin}:{exc.colno}: invalid JSON: {exc.msg}") from None
        task = parse_task(data, origin, base)
        if "id" not in task.model_fields_set:
            task.id = f"{file.stem}-{number}"
        tasks.append(FoundTask(task, origin))
    return tasks


def _check_ids(found: list[FoundTask]) -> None:
    seen: dict[str, str] = {}
    for item in found:
        task_id = item.task.id
        if any(c in task_id for c in UNSAFE_ID_CHARS) or task_id in (".", ".."):
            raise TaskFileError(
                f"{item.origin}: task id {task_id!r} cannot name a log file; use letters, digits, '-', '_', '.'"
            )
        if task_id in seen:
            raise TaskFileError(
                f"task id {task_id!r} is used twice ({seen[task_id]} and {item.origin}); "
                "task ids must be unique within a batch"
            )
        seen[task_id] = item.origin
