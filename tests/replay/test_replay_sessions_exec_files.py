"""Replay and ``--verify`` of a run that used named sessions, ``close_session``, ``exec``, exact file
actions and a task's uploads and downloads: recorded with ``agentexec run``, replayed with
``agentexec replay --verify`` in a fresh workspace, on ``local`` and under ``sandbox``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import bwrap_unavailable, read_log, run_cli, write_json

needs_bwrap = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")

UPPER = "import sys; data = open('fixtures/in.txt').read(); print(data.upper()); print('to stderr', file=sys.stderr)"
ACTIONS = [
    {"action": "run", "args": {"command": "mkdir -p out && cp fixtures/in.txt out/copy.txt && echo copied"}},
    {"action": "run", "args": {"command": "mkdir -p sub && cd sub; export SIDE=1", "session": "side"}},
    {"action": "run", "args": {"command": "echo side=$SIDE in ${PWD##*/}", "session": "side"}},
    {"action": "close_session", "args": {"session": "side"}},
    {"action": "run", "args": {"command": "echo side=${SIDE:-unset}", "session": "side"}},
    {"action": "exec", "args": {"argv": ["python3", "-c", UPPER]}},
    {"action": "exec", "args": {"argv": ["sh", "-c", "read line; echo got $line; exit 3"], "stdin": "hello"}},
    {"action": "write", "args": {"path": "crlf.txt", "content": "one\r\ntwo\r\n"}},
    {"action": "read", "args": {"path": "crlf.txt"}},
    {"action": "finish", "args": {"message": "done"}},
]


@pytest.fixture
def recorded(project: Path) -> Path:
    (project / "fixtures").mkdir()
    (project / "fixtures/in.txt").write_text("carried in\n")
    (project / "ws").mkdir()
    task = {"id": "mixed", "workspace": "ws", "upload": ["fixtures"], "download": ["out"], "actions": ACTIONS}
    write_json(project / "task.json", task)
    done = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    return project


@pytest.mark.parametrize("runtime", ["local", pytest.param("sandbox", marks=needs_bwrap)])
def test_a_run_with_sessions_exec_and_files_replays_and_verifies(recorded: Path, runtime: str) -> None:
    (recorded / "fresh").mkdir()
    replayed = run_cli(
        "replay", "run.jsonl", "--verify", "--runtime", runtime, "--workspace", "fresh", "--log", "again.jsonl",
        cwd=recorded,
    )  # fmt: skip
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    result = read_log(recorded / "again.jsonl")[-1]["result"]
    assert result["verify"]["diverged"] == 0 and result["verify"]["compared"] == len(ACTIONS)
    assert (recorded / "fresh/fixtures/in.txt").read_text() == "carried in\n", "the upload was redone"
    assert (recorded / "again.jsonl.outputs/out/copy.txt").read_text() == "carried in\n", "and the download"
    notes = [r["transfer"]["direction"] for r in read_log(recorded / "again.jsonl") if "transfer" in r]
    assert notes == ["upload", "download"]


def test_verify_compares_exec_output(recorded: Path) -> None:
    """The upload is redone from the task's source: changed there, exec's stdout diverges."""
    (recorded / "fixtures/in.txt").write_text("changed since\n")
    (recorded / "fresh").mkdir()
    replayed = run_cli("replay", "run.jsonl", "--verify", "--workspace", "fresh", "--log", "again.jsonl", cwd=recorded)
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    log = read_log(recorded / "again.jsonl")
    diverged = {r["divergence"]["action"] for r in log if "divergence" in r}
    assert "exec" in diverged and "CHANGED SINCE" in replayed.stdout
