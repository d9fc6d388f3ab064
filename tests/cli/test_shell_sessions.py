"""``agentexec shell``'s ``/session NAME``: plain lines go to the current bash session, each with its
own cwd and variables; the view labels runs by session once there is more than one. Lines come
from a pipe, as typed ones do."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import read_log, run_cli

SCRIPT = (
    "cd sub\nexport A=1\n"
    "/session side\npwd\necho ${A:-unset}\n/session\n"
    "/session default\npwd\necho $A\n"
    "/session bad/name\n"
    '/session side\n/action close_session {"session": "side"}\npwd\n'
)


def test_each_session_keeps_its_own_cwd_and_variables(project: Path) -> None:
    (project / "ws/sub").mkdir(parents=True)
    done = run_cli("shell", "-w", "ws", "--log", "s.jsonl", "--json", cwd=project, input=SCRIPT)
    assert done.returncode == 0, done.stderr
    actions = [r for r in read_log(project / "s.jsonl") if "action" in r]
    runs = [(r["args"].get("session"), r["args"].get("command", r["action"])) for r in actions]
    assert runs[:2] == [(None, "cd sub"), (None, "export A=1")]
    observations = [r for r in read_log(project / "s.jsonl") if "observation" in r]
    contents = [o["content"].strip() for o in observations]
    workspace = str((project / "ws").resolve())
    # side starts at the workspace without A; default kept its cd and its variable
    assert contents[2:6] == [workspace, "unset", f"{workspace}/sub", "1"]
    assert runs[2][0] == "side" and runs[4][0] is None
    # closing the current session: its next command starts afresh at the workspace
    assert runs[-2] == ("side", "close_session")
    assert contents[-1] == workspace and runs[-1][0] == "side"
    assert "sessions: default, side (current)" in done.stderr
    assert "bad session name 'bad/name'" in done.stderr
    assert "(side) " in done.stderr and "(default) " in done.stderr  # the prompt names the session


def test_the_view_labels_runs_by_session_once_there_are_two(project: Path) -> None:
    (project / "ws").mkdir()
    script = "echo before\n/session side\necho there\n/session default\necho back\n"
    done = run_cli("shell", "-w", "ws", "--log", "s.jsonl", cwd=project, input=script)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "▶" in line]
    assert lines[0].endswith("run echo before") and "[" not in lines[0].split("run")[0]
    assert "[side] run echo there" in lines[1] and "[default] run echo back" in lines[2]


def test_json_output_keeps_the_session_in_each_run(project: Path) -> None:
    (project / "ws").mkdir()
    done = run_cli(
        "shell", "-w", "ws", "--log", "s.jsonl", "--json", cwd=project, input="/session build\nsleep 0; echo x\n"
    )
    records = [json.loads(line) for line in done.stdout.splitlines()]
    run = next(r for r in records if r.get("action") == "run")
    assert run["args"] == {"command": "sleep 0; echo x", "session": "build"}
    result = next(r for r in records if r.get("observation") == "run")
    assert result["extras"]["session"] == "build"
