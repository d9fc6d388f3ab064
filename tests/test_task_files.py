"""A task file's ``upload`` and ``download``: files into the workspace before the agent, results out after.

Through the real CLI (``agentexec run``) on ``local``, ``process`` and ``sandbox``: the same task
file, unchanged, carries a directory and a file in and a result directory and a patch out; the
downloads happen when the run fails or is interrupted too, each transfer is a note in the event
log, and a bad entry is one line and exit 2 before anything runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import bwrap_unavailable, read_log, run_cli, write_json

needs_bwrap = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
RUNTIMES = ["local", "process", pytest.param("sandbox", marks=needs_bwrap)]

WORK = "mkdir -p out && cat repo/src/main.py data/input.csv > out/combined.txt && echo '--- a' > fix.patch"


def make_project(project: Path, actions: list[dict[str, Any]], **task: Any) -> Path:
    (project / "fixtures/repo/src").mkdir(parents=True)
    (project / "fixtures/repo/src/main.py").write_text("print('hi')\n")
    (project / "fixtures/repo/run.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "fixtures/repo/run.sh", 0o755)
    (project / "fixtures/input.csv").write_text("a,b\n1,2\n")
    (project / "ws").mkdir()
    body = {
        "id": "carry",
        "workspace": "ws",
        "upload": ["fixtures/repo", {"path": "fixtures/input.csv", "to": "data/input.csv"}],
        "download": [{"path": "out", "to": "results"}, "fix.patch"],
        "actions": actions,
        **task,
    }
    return write_json(project / "task.json", body)


def transfers(log: Path) -> list[dict[str, Any]]:
    return [record["transfer"] for record in read_log(log) if "transfer" in record]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_same_task_carries_files_in_and_out_under_every_runtime(runtime: str, project: Path) -> None:
    make_project(
        project,
        [{"action": "run", "args": {"command": f"test -x repo/run.sh && {WORK}"}}, {"action": "finish", "args": {}}],
        check=[{"action": "run", "args": {"command": "test -f out/combined.txt"}}],
    )
    done = run_cli("run", "task.json", "--runtime", runtime, "--log", "run.jsonl", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs = project / "run.jsonl.outputs"
    assert (outputs / "results/combined.txt").read_text() == "print('hi')\na,b\n1,2\n"
    assert (outputs / "fix.patch").read_text() == "--- a\n"
    notes = transfers(project / "run.jsonl")
    assert [(n["direction"], n["to"]) for n in notes] == [
        ("upload", "repo"),
        ("upload", "data/input.csv"),
        ("download", str(outputs / "results")),
        ("download", str(outputs / "fix.patch")),
    ]
    assert all("error" not in n for n in notes) and notes[1]["bytes"] == len("a,b\n1,2\n")
    records = read_log(project / "run.jsonl")
    first_action = next(i for i, r in enumerate(records) if "action" in r)
    assert all("transfer" in r for r in records[1:first_action]), "uploads come before the first action"
    assert "download" in json.dumps(records[-2]) and "result" in records[-1], "downloads come before the result"


def test_downloads_happen_when_the_run_fails_and_a_missing_one_is_noted(project: Path) -> None:
    make_project(
        project,
        [{"action": "run", "args": {"command": WORK}}, {"action": "finish", "args": {}}],
        check=[{"action": "run", "args": {"command": "false"}}],
        download=["out", "never-made.txt"],
    )
    done = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (project / "run.jsonl.outputs/out/combined.txt").exists()
    missing = transfers(project / "run.jsonl")[-1]
    assert missing["path"] == "never-made.txt" and "never-made.txt" in missing["error"]
    result = read_log(project / "run.jsonl")[-1]["result"]
    assert "download never-made.txt failed" in result["message"]


def test_downloads_happen_when_the_run_is_interrupted(project: Path) -> None:
    make_project(project, [{"action": "run", "args": {"command": f"{WORK} && echo started && sleep 30"}}])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", "task.json", "--log", "run.jsonl"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (project / "ws/fix.patch").exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert (project / "run.jsonl.outputs/results/combined.txt").exists()
    assert (project / "run.jsonl.outputs/fix.patch").exists()
    assert read_log(project / "run.jsonl")[-1]["result"]["outcome"] == "interrupted"


def test_a_failed_upload_ends_the_run_as_an_error_before_the_agent_starts(project: Path) -> None:
    make_project(project, [{"action": "run", "args": {"command": "echo never"}}])
    (project / "ws/repo").write_text("a file where the directory should go")
    done = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert done.returncode == 1
    records = read_log(project / "run.jsonl")
    assert not any("action" in r for r in records), "the agent never started"
    assert "repo" in transfers(project / "run.jsonl")[0]["error"]
    result = records[-1]["result"]
    assert result["outcome"] == "error" and "upload" in result["message"] and "repo" in result["message"]


@pytest.mark.parametrize(
    ("entries", "said"),
    [
        ({"upload": ["fixtures/nowhere"]}, "upload[0]: fixtures/nowhere does not exist"),
        ({"upload": [{"path": "fixtures/input.csv", "to": "/etc/input.csv"}]}, "must be relative to the workspace"),
        ({"download": ["../outside"]}, "must stay inside the workspace"),
        ({"download": [{"path": "out", "to": "../../escape"}]}, "must stay inside the run's output directory"),
        ({"download": ["a/out", "b/out"]}, "two downloads go to 'out'"),
        ({"upload": [{"path": "fixtures/input.csv", "mode": 7}]}, "upload[0].mode: unknown field"),
    ],
)
def test_a_bad_entry_is_one_line_and_exit_2_before_anything_runs(
    project: Path, entries: dict[str, Any], said: str
) -> None:
    make_project(project, [{"action": "run", "args": {"command": "touch ran"}}], **entries)
    done = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr and "task.json" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (project / "ws/ran").exists() and not (project / "run.jsonl").exists()
