"""The workspace a run started from: recorded when the run starts, rebuilt for its replay and resume.

A replay is only faithful if it starts where the run started, so every logged run records its
starting workspace in the header's ``start`` field, in one of these forms:

- ``{"kind": "empty"}``: the workspace was empty (or did not exist yet): nothing to store.
- ``{"kind": "snapshot", "archive", "manifest", "files", "bytes", "digest"}``: an uncompressed tar
  of the workspace and its content manifest (``manifest.py``), in ``<log>.start/`` beside the log.
  A tar is exact (modes, symlinks, empty directories, ``.git`` included), is one sequential write
  as fast as the disk (see ``benchmarks/bench_snapshot.py``), and still holds the start after the
  agent or the user has changed the workspace, which a git commit or the directory's path would not.
- ``{"kind": "copy", "source", "files", "bytes", "digest"}``: a batch task's workspace is a fresh
  copy of the task's directory, so that directory and its manifest digest are recorded instead of
  a tar per task; replay copies it again after checking the digest is unchanged.
- ``{"kind": "unrecorded", "reason"}``: the workspace exceeds ``[core] snapshot_max_bytes`` or
  ``snapshot_max_files`` (0 turns snapshots off); the run says so when it starts, and so does replay.

The log's own directory and the files beside the log are left out when they are inside the
workspace (the default ``log_dir`` is), and listed in ``excluded``, so no run stores older runs.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import UsageError
from agentexec.replay import manifest as mf
from agentexec.replay.archive import extract, write

#: Beside an event log ``run.jsonl``, the directory ``run.jsonl.start`` holds its starting workspace.
START_SUFFIX = ".start"
ARCHIVE = "workspace.tar"
MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class SnapshotLimits:
    """The largest workspace a run stores at its start; 0 for either turns snapshots off."""

    max_bytes: int
    max_files: int


def excluded_inside(workspace: Path, excluded: Iterable[Path]) -> set[str]:
    """The excluded paths that lie inside the workspace, relative to it."""
    inside = set()
    for path in excluded:
        try:
            relative = path.resolve().relative_to(workspace)
        except ValueError:
            continue
        if relative.parts:
            inside.add(relative.as_posix())
    return {path for path in inside if not any(path.startswith(f"{other}/") for other in inside)}


def _listing(workspace: Path, skip: set[str]) -> list[tuple[str, os.stat_result]]:
    return list(mf.walk(workspace, skip))


def _too_large(listing: list[tuple[str, os.stat_result]], limits: SnapshotLimits) -> Optional[str]:
    if limits.max_bytes == 0 or limits.max_files == 0:
        return "snapshots are off ([core] snapshot_max_bytes or snapshot_max_files is 0)"
    files = sum(1 for _, info in listing if not stat.S_ISDIR(info.st_mode))
    size = sum(info.st_size for _, info in listing if stat.S_ISREG(info.st_mode))
    if size > limits.max_bytes:
        return f"the workspace holds {size} bytes, more than [core] snapshot_max_bytes = {limits.max_bytes}"
    if files > limits.max_files:
        return f"the workspace holds {files} files, more than [core] snapshot_max_files = {limits.max_files}"
    return None


def record_start(
    workspace: Path, log_path: Path, limits: SnapshotLimits, excluded: Iterable[Path] = ()
) -> dict[str, Any]:
    """Store the workspace beside the log (or say why not); the header's ``start`` field."""
    workspace = workspace.resolve()
    if not workspace.is_dir():
        return {"kind": "empty"}
    log_path = log_path.resolve()
    skip = excluded_inside(workspace, [*excluded, log_path, *log_path.parent.glob(log_path.name + ".*")])
    noted: dict[str, Any] = {"excluded": sorted(skip)} if skip else {}
    folder = log_path.parent / (log_path.name + START_SUFFIX)
    try:
        listing = _listing(workspace, skip)
        if not listing:
            return {"kind": "empty", **noted}
        reason = _too_large(listing, limits)
        if reason is not None:
            return {"kind": "unrecorded", "reason": reason, **noted}
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        entries = write(workspace, listing, folder / ARCHIVE)
        (folder / MANIFEST).write_bytes(mf.encode(entries))
    except OSError as exc:  # an unreadable directory, a full disk: the run goes on, unrecorded, and says so
        shutil.rmtree(folder, ignore_errors=True)
        return {"kind": "unrecorded", "reason": f"the snapshot could not be made: {exc}", **noted}
    sockets = [path for path, info in listing if stat.S_ISSOCK(info.st_mode)]
    if sockets:
        noted["not_restored"] = sockets[:20]  # a socket cannot be archived: named, never silently dropped
    base = log_path.parent
    return {
        "kind": "snapshot",
        "archive": str((folder / ARCHIVE).relative_to(base)),
        "manifest": str((folder / MANIFEST).relative_to(base)),
        "files": sum(1 for e in entries if e.kind != "dir"),
        "bytes": sum(e.size for e in entries),
        "digest": mf.digest(entries),
        **noted,
    }


def copy_record(source: Path, limits: SnapshotLimits) -> dict[str, Any]:
    """The ``start`` of a workspace that is a fresh copy of ``source`` (a batch task's directory)."""
    listing = _listing(source, set()) if source.is_dir() else []
    reason = _too_large(listing, limits) if listing else None
    if reason is not None:
        return {"kind": "unrecorded", "reason": reason.replace("the workspace", f"the task's workspace {source}")}
    entries = [mf.entry_for(source, path, info) for path, info in listing]
    if not entries:
        return {"kind": "empty"}
    return {
        "kind": "copy",
        "source": str(source),
        "files": sum(1 for e in entries if e.kind != "dir"),
        "bytes": sum(e.size for e in entries),
        "digest": mf.digest(entries),
    }


def located(start: Any, log_path: Path) -> Optional[dict[str, Any]]:
    """A header's ``start`` with its files made absolute, so a replay's or resume's log can name it too."""
    if not isinstance(start, dict) or not isinstance(start.get("kind"), str):
        return None
    result = dict(start)
    for key in ("archive", "manifest"):
        if isinstance(result.get(key), str):
            result[key] = str(log_path.resolve().parent / result[key])
    return result


def describe(start: Optional[dict[str, Any]]) -> str:
    """Why a replay starts empty although the run did not, for a warning; empty when it need not."""
    if start is None:
        return "the log records no starting workspace (an older agentexec, or an imported trajectory)"
    if start.get("kind") == "unrecorded":
        return f"the run's starting workspace was not recorded: {start.get('reason')}"
    return ""


def restore(start: dict[str, Any], destination: Path, flag_hint: str) -> None:
    """Rebuild the recorded start in ``destination`` (an empty or absent directory)."""
    kind = start.get("kind")
    destination.mkdir(parents=True, exist_ok=True)
    if kind == "snapshot":
        archive = Path(str(start.get("archive")))
        if not archive.is_file():
            raise UsageError(
                f"the run's starting workspace {archive} is missing; keep it beside the log, or {flag_hint}"
            )
        try:
            extract(archive, destination)
        except OSError as exc:
            raise UsageError(f"the run's starting workspace {archive} cannot be unpacked: {exc}; {flag_hint}") from None
    elif kind == "copy":
        source = Path(str(start.get("source")))
        check_source(start, source, flag_hint)
        shutil.copytree(source, destination, symlinks=True, dirs_exist_ok=True)


def check_source(start: dict[str, Any], source: Path, flag_hint: str) -> None:
    """A batch task's directory must still hold what the run copied, or the replay would start elsewhere."""
    if not source.is_dir():
        raise UsageError(f"the task's workspace {source}, which the run started from, is missing; {flag_hint}")
    if mf.digest(mf.manifest(source)) != start.get("digest"):
        raise UsageError(
            f"the task's workspace {source} has changed since the run copied it (its content manifest "
            f"differs); restore it, or {flag_hint}"
        )


def recorded_manifest(start: dict[str, Any]) -> Optional[list[mf.Entry]]:
    """The start's manifest when the log keeps one (snapshots); None when only its digest is known."""
    kind = start.get("kind")
    if kind == "empty":
        return []
    if kind == "snapshot":
        path = Path(str(start.get("manifest")))
        return mf.decode(path.read_bytes()) if path.is_file() else None
    return None


def changed_paths(start: dict[str, Any], workspace: Path, excluded: Iterable[Path] = ()) -> Optional[list[str]]:
    """The paths where ``workspace`` differs from the recorded start; None when that cannot be told."""
    workspace = workspace.resolve()
    skip = excluded_inside(workspace, excluded) | set(start.get("excluded") or [])
    current = (
        [mf.entry_for(workspace, path, info) for path, info in _listing(workspace, skip)] if workspace.is_dir() else []
    )
    expected = recorded_manifest(start)
    if expected is not None:
        return mf.differences(expected, current)
    if isinstance(start.get("digest"), str):
        return [] if mf.digest(current) == start["digest"] else ["(the content manifest differs)"]
    return None
