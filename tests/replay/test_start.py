"""The starting workspace a run records (snapshot and manifest), restored exactly, and its limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentexec.replay.manifest import digest, manifest
from agentexec.replay.start import SnapshotLimits, changed_paths, copy_record, located, record_start, restore

ROOMY = SnapshotLimits(max_bytes=10_000_000, max_files=1000)


def tree(root: Path) -> Path:
    """A workspace with what a real one holds: modes, links of both kinds, an empty dir, a repository."""
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / ".git" / "refs").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "src" / "pkg" / "mod.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o750)
    (root / "readonly.txt").write_text("keep\n")
    (root / "readonly.txt").chmod(0o444)
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    os.link(root / "big.bin", root / "big-hardlink.bin")
    (root / "rel-link").symlink_to("src/pkg/mod.py")
    (root / "abs-link").symlink_to("/usr/bin/env")
    return root


@pytest.mark.parametrize("writer", ["tar", "tarfile"])
def test_snapshot_restores_the_tree_exactly_and_leaves_the_log_directory_out(
    tmp_path: Path, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same record and the same tree back, whether GNU tar is installed or Python's tarfile does it."""
    if writer == "tarfile":
        monkeypatch.setattr("agentexec.replay.archive.shutil.which", lambda name: None)
    workspace = tree(tmp_path / "ws")
    logs = workspace / ".agentexec" / "runs"
    logs.mkdir(parents=True)
    (logs / "older.jsonl").write_text("{}\n")
    log = logs / "run.jsonl"
    start = record_start(workspace, log, ROOMY, excluded=[logs])
    assert start["kind"] == "snapshot" and start["excluded"] == [".agentexec/runs"]
    assert start["archive"] == "run.jsonl.start/workspace.tar" and start["files"] == 8
    original = [entry for entry in manifest(workspace) if not entry.path.startswith(".agentexec/runs")]
    assert start["digest"] == digest(original)

    restored = tmp_path / "restored"
    restore(located(start, log) or {}, restored, "a hint")
    assert manifest(restored) == original
    assert os.readlink(restored / "abs-link") == "/usr/bin/env"
    assert (restored / "run.sh").stat().st_mode & 0o777 == 0o750
    assert changed_paths(located(start, log) or {}, workspace, excluded=[logs]) == []
    (workspace / "src" / "pkg" / "mod.py").write_text("print('changed')\n")
    (workspace / "new.txt").write_text("left over\n")
    assert changed_paths(located(start, log) or {}, workspace, excluded=[logs]) == ["new.txt", "src/pkg/mod.py"]


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        (SnapshotLimits(max_bytes=1024, max_files=1000), "more than [core] snapshot_max_bytes = 1024"),
        (SnapshotLimits(max_bytes=10_000_000, max_files=3), "more than [core] snapshot_max_files = 3"),
        (SnapshotLimits(max_bytes=0, max_files=1000), "snapshots are off"),
    ],
)
def test_a_workspace_over_a_limit_is_not_stored_and_says_why(
    tmp_path: Path, limits: SnapshotLimits, reason: str
) -> None:
    workspace = tree(tmp_path / "ws")
    log = tmp_path / "logs" / "run.jsonl"
    start = record_start(workspace, log, limits)
    assert start["kind"] == "unrecorded" and reason in start["reason"]
    assert not (tmp_path / "logs" / "run.jsonl.start").exists()  # nothing partial is left


def test_an_empty_or_missing_workspace_stores_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert record_start(tmp_path / "empty", tmp_path / "run.jsonl", ROOMY) == {"kind": "empty"}
    assert record_start(tmp_path / "missing", tmp_path / "run.jsonl", ROOMY) == {"kind": "empty"}
    assert not (tmp_path / "run.jsonl.start").exists()


def test_a_copied_directory_is_named_by_its_digest(tmp_path: Path) -> None:
    source = tree(tmp_path / "task-ws")
    start = copy_record(source, ROOMY)
    assert start["kind"] == "copy" and start["source"] == str(source)
    assert changed_paths(start, source) == []
    (source / "readonly.txt").chmod(0o644)  # a mode alone is a change
    assert changed_paths(start, source) == ["(the content manifest differs)"]
