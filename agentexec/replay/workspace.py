"""Where a replay or a resume runs, and how that workspace comes to hold the run's starting files.

**Replay** (and ``--verify``) runs in a fresh temporary directory, or in ``--workspace DIR``; an
empty or absent one is first filled with the run's recorded start (``start.py``), so the first
action that reads a file finds it. A ``--workspace`` that already holds files is used as it is
(the user chose it), and ``--empty-workspace`` starts empty on purpose.

**Resume** runs where the run ran (the header's ``workspace``), since that is where the user
looks for the result. The replayed actions must land on the run's starting state, not on top of
what the killed run left there, so the rule is:

- the workspace is absent or empty: the recorded start is rebuilt in it, then resumed there;
- it matches the recorded start's manifest (nothing was changed yet): resumed there;
- anything else holds leftovers, or cannot be told apart from them (a log without a recorded
  start): refused in one line, naming the changed paths and ``--workspace NEW_DIR`` (rebuilt from
  the start there).

Imported trajectories ran on another machine (OpenHands' ``/workspace``), so they resume in a
fresh temporary directory, as before, which is kept and named.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import UsageError
from agentexec.replay.source import RecordedRun
from agentexec.replay.start import changed_paths, describe, excluded_inside, located, restore

EMPTY: dict[str, Any] = {"kind": "empty"}


@dataclass
class Prepared:
    """A workspace made ready: its path, the new log's ``start`` (None: snapshot it), and notes for the user."""

    path: str
    start: Optional[dict[str, Any]]
    temporary: bool = False
    notes: list[str] = field(default_factory=list)


def holds_files(path: Path, excluded: Iterable[Path] = ()) -> bool:
    """Whether the directory holds anything besides the excluded paths (the log directory)."""
    if not path.is_dir():
        return False
    skip = excluded_inside(path.resolve(), excluded)
    return any(child.name not in skip for child in path.iterdir())


def _native(run: RecordedRun) -> bool:
    return "imported" not in run.header


def for_replay(run: RecordedRun, chosen: Optional[str], empty: bool) -> Prepared:
    """The replay's workspace: ``chosen`` or a new temporary directory, holding the run's start."""
    temporary = chosen is None
    path = Path(chosen) if chosen is not None else Path(tempfile.mkdtemp(prefix="agentexec-replay-"))
    if not temporary and holds_files(path):
        return Prepared(str(path), None)  # the user's own directory, as it is: its log records it
    start = located(run.header.get("start"), run.path)
    why = describe(start)
    if empty or why or start is None:
        notes = [f"{why}; replaying in an empty workspace"] if why and not empty and _native(run) else []
        return Prepared(str(path), EMPTY, temporary, notes)
    try:
        restore(start, path, "replay with --empty-workspace, or --workspace DIR holding the starting files")
    except BaseException:
        if temporary:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return Prepared(str(path), start, temporary)


def for_resume(run: RecordedRun, chosen: Optional[str], excluded: Iterable[Path] = ()) -> Prepared:
    """The resume's workspace: ``chosen``, else where the run ran; refused when it holds leftovers."""
    excluded = list(excluded)
    recorded_workspace = run.header.get("workspace")
    if chosen is None and (not _native(run) or not isinstance(recorded_workspace, str)):
        fresh = tempfile.mkdtemp(prefix="agentexec-resume-")
        return Prepared(fresh, EMPTY, notes=[f"resuming in {fresh} (kept: the run's result will be there)"])
    path = Path(chosen if chosen is not None else str(recorded_workspace))
    start = located(run.header.get("start"), run.path)
    if not holds_files(path, excluded):
        if start is None or describe(start):
            return Prepared(str(path), EMPTY)
        restore(start, path, "resume with --workspace DIR holding the starting files")
        return Prepared(str(path), start)
    changed = changed_paths(start, path, excluded) if start is not None else None
    if changed == []:
        return Prepared(str(path), start)
    again = f"resume with --workspace NEW_DIR (an empty directory{', rebuilt from the start' if start else ''})"
    if changed is None:
        why = describe(start) or "the log's start cannot be compared"
        raise UsageError(
            f"workspace {path} is not empty and cannot be checked for leftovers of the interrupted run "
            f"({why}); {again}, or empty {path} and retry"
        )
    shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    raise UsageError(
        f"workspace {path} holds leftovers of the interrupted run ({len(changed)} paths differ from its "
        f"recorded start: {shown}); {again}, or put {path} back as it started and retry"
    )
