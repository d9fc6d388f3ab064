"""``agentexec run --resume``: a run killed midway is rebuilt by replay and finished by its agent,
where it ran (from its recorded start), never on top of what the killed run left there."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import read_log, run_cli, write_json

ACTIONS = [
    {"action": "run", "args": {"command": "echo 1 >> log.txt"}},
    {"action": "write", "args": {"path": "notes.txt", "content": "kept\n"}},
    {"action": "run", "args": {"command": "sleep 0.6; echo 3 >> log.txt"}},
    {"action": "run", "args": {"command": "echo 4 >> log.txt"}},
]
CHECK = [{"action": "run", "args": {"command": 'test "$(tr -d "\\n" < log.txt)" = 134 && test -f notes.txt'}}]


def killed_run(project: Path) -> Path:
    """Start a run, SIGKILL it while its third action sleeps; the log ends with that action."""
    task = write_json(project / "task.json", {"id": "resumable", "actions": ACTIONS, "check": CHECK})
    log = project / "killed.jsonl"
    (project / "ws").mkdir()
    (project / "ws" / "seed.txt").write_text("from the start\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", str(task), "--log", str(log), "--workspace", "ws", "--json"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or '"seq": 5' not in log.read_text()):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    records = read_log(log)
    assert records[-1]["seq"] == 5 and "result" not in records[-1], records[-1]
    return log


def test_resume_in_a_new_workspace_replays_from_the_start_then_the_agent_continues(project: Path) -> None:
    log = killed_run(project)
    fresh = project / "fresh"
    done = run_cli(
        "run",
        "--resume",
        str(log),
        "--workspace",
        str(fresh),
        "--log",
        str(project / "resumed.jsonl"),
        "--json",
        cwd=project,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    records = read_log(project / "resumed.jsonl")
    header = records[0]
    assert header["resumed_from"] == {"format": "agentexec", "path": str(log.resolve())}
    assert header["workspace"] == str(fresh)
    actions = [(r["action"], r.get("phase")) for r in records if "action" in r]
    assert actions == [("run", "resume"), ("write", "resume"), ("run", None), ("run", None), ("finish", None)] + [
        ("run", "check")
    ]
    result = records[-1]["result"]
    assert result["passed"] and result["steps"] == 5 and result["checks"] == [{"action": "run", "passed": True}]
    # Every action ran exactly once in the rebuilt workspace: the interrupted one was not doubled.
    assert (fresh / "log.txt").read_text() == "1\n3\n4\n"
    assert (fresh / "seed.txt").read_text() == "from the start\n"  # the run's starting files came back


def test_resume_finishes_where_the_run_ran_and_refuses_its_leftovers(project: Path) -> None:
    log = killed_run(project)
    workspace = project / "ws"
    refused = run_cli("run", "--resume", str(log), "--json", cwd=project)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    message = refused.stderr.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert f"workspace {workspace} holds leftovers of the interrupted run" in message
    assert "log.txt" in message and "notes.txt" in message and "--workspace NEW_DIR" in message
    assert (workspace / "log.txt").read_text() == "1\n"  # nothing was replayed on top of them
    # Put the workspace back as the run started (its seed file only): now the run is resumed there.
    for leftover in ("log.txt", "notes.txt"):
        (workspace / leftover).unlink()
    done = run_cli("run", "--resume", str(log), "--log", str(project / "resumed.jsonl"), "--json", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_log(project / "resumed.jsonl")[0]["workspace"] == str(workspace)
    assert (workspace / "log.txt").read_text() == "1\n3\n4\n"
    # An emptied workspace is rebuilt from the recorded start first, then resumed there too.
    for path in workspace.iterdir():
        path.unlink()
    again = run_cli("run", "--resume", str(log), "--log", str(project / "again.jsonl"), "--json", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (workspace / "seed.txt").read_text() == "from the start\n"
    assert (workspace / "log.txt").read_text() == "1\n3\n4\n"


def test_resume_tolerates_a_cut_line_and_refuses_finished_runs(project: Path) -> None:
    log = killed_run(project)
    cut = project / "cut.jsonl"
    cut.write_text(log.read_text() + '{"seq": 6, "observation": "ru')
    done = run_cli(
        "run", "--resume", str(cut), "--json", "--log", str(project / "again.jsonl"), "-w", "fresh", cwd=project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cut.jsonl:7: the last line is cut" in done.stderr
    finished = run_cli("run", "--resume", str(project / "again.jsonl"), cwd=project)
    assert finished.returncode == 2 and "is a finished run" in finished.stderr
    neither = run_cli("run", cwd=project)
    assert neither.returncode == 2 and "missing TASK.json" in neither.stderr
    assert json.loads((project / "again.jsonl").read_text().splitlines()[-1])["result"]["passed"]
