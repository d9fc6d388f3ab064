"""File actions confined to the workspace: ``..``, absolute paths and symlinks out are refused,
including a symlink swapped in while the action runs; links that stay inside keep working."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from agentexec.executors.confine import Confinement, PathEscape
from tests.helpers import read_log, run_cli


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    (workspace / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    (workspace / "sub" / "inside.txt").write_text("inside")
    (workspace / "link-out").symlink_to(outside)
    (workspace / "file-out").symlink_to(outside / "secret.txt")
    (workspace / "link-in").symlink_to(workspace / "sub")
    return workspace, outside


ESCAPES = ["../outside/secret.txt", "sub/../../outside/secret.txt", "link-out/secret.txt", "file-out"]


@pytest.mark.parametrize("path", ESCAPES)
def test_reads_and_writes_that_leave_the_workspace_are_refused(layout: tuple[Path, Path], path: str) -> None:
    workspace, outside = layout
    confinement = Confinement(workspace)
    with pytest.raises(PathEscape):
        confinement.read_bytes(path)
    with pytest.raises(PathEscape):
        confinement.write_bytes(path, b"overwritten")
    assert (outside / "secret.txt").read_text() == "host secret"


def test_absolute_paths_outside_are_refused_and_inside_are_allowed(layout: tuple[Path, Path]) -> None:
    workspace, outside = layout
    confinement = Confinement(workspace)
    with pytest.raises(PathEscape, match="outside the workspace"):
        confinement.read_bytes(str(outside / "secret.txt"))
    assert confinement.read_bytes(str(workspace / "sub" / "inside.txt")) == b"inside"
    assert confinement.read_bytes("link-in/inside.txt") == b"inside"


def test_a_symlink_swapped_in_during_reads_never_leaks_the_outside(layout: tuple[Path, Path]) -> None:
    """A thread flips ``flip`` between a real directory and a link out as fast as it can."""
    workspace, outside = layout
    (outside / "f.txt").write_text("OUTSIDE")
    real, flip = workspace / "real", workspace / "flip"
    real.mkdir()
    (real / "f.txt").write_text("inside")
    stop = threading.Event()

    def swapper() -> None:
        link_out, link_in = workspace / ".out", workspace / ".in"
        while not stop.is_set():
            for target, temporary in ((outside, link_out), (real, link_in)):
                temporary.unlink(missing_ok=True)
                temporary.symlink_to(target)
                os.replace(temporary, flip)

    thread = threading.Thread(target=swapper)
    thread.start()
    confinement, seen = Confinement(workspace), set()
    try:
        for _ in range(2000):
            try:
                seen.add(confinement.read_bytes("flip/f.txt"))
            except (PathEscape, FileNotFoundError):
                seen.add(b"refused")
    finally:
        stop.set()
        thread.join()
    assert b"OUTSIDE" not in seen
    assert b"refused" in seen


def test_the_cli_refuses_an_escape_with_one_clear_error_observation(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "agentexec.toml").write_text("[executor]\nconfine_to_workspace = true\n")
    actions = [
        {"action": "read", "args": {"path": "../agentexec.toml"}},
        {"action": "write", "args": {"path": "/tmp/escaped-by-agent.txt", "content": "x"}},
        {"action": "write", "args": {"path": "kept.txt", "content": "fine"}},
    ]
    (tmp_path / "t.json").write_text(json.dumps({"id": "c", "workspace": "ws", "actions": actions}))
    result = run_cli("run", "t.json", "--log", "run.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_log(tmp_path / "run.jsonl")
    refused = [e for e in events if e.get("cause") in (1, 3)]
    assert all(e["observation"] == "error" for e in refused), refused
    assert "../agentexec.toml" in refused[0]["content"]
    assert "outside the workspace" in refused[1]["content"]
    assert not Path("/tmp/escaped-by-agent.txt").exists()
    assert (tmp_path / "ws" / "kept.txt").read_text() == "fine"
