"""What a person reads after a run: streamed lines and returned content, errors and steps counted alike.

The live view (``run``), the recorded view (``show``) and ``replay`` read the same event log, so
each check runs the real CLI and compares what they print.
"""

from __future__ import annotations

from pathlib import Path

from tests.helpers import STREAMING_OPS_MODULE, read_log, run_cli, write_json


def streaming_project(project: Path) -> Path:
    (project / "ops.py").write_text(STREAMING_OPS_MODULE)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "ops:OpsExecutor"\nworkspace = "ws"\n')
    return project


def test_streamed_lines_and_the_returned_content_both_show_live_and_in_show(project: Path) -> None:
    streaming_project(project)
    write_json(
        project / "task.json",
        {
            "id": "count",
            "actions": [
                {"action": "write", "args": {"path": "notes.txt", "content": "one\ntwo\nthree\n"}},
                {"action": "count_lines", "args": {"path": "notes.txt"}},
                {"action": "run", "args": {"command": "echo hello-$((6*7))"}},
                {"action": "finish", "args": {}},
            ],
        },
    )
    live = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert live.returncode == 0, live.stdout + live.stderr
    shown = run_cli("show", "run.jsonl", cwd=project)
    assert shown.returncode == 0, shown.stderr
    for out in (live.stdout, shown.stdout):
        lines = out.splitlines()
        streamed = lines.index("counting notes.txt")
        assert lines[streamed + 1] == "3", out  # the returned content, after the streamed line
        assert lines.count("hello-42") == 1, out  # a command's output is its content: shown once
    kept = [r for r in read_log(project / "run.jsonl") if "output" in r]
    assert kept == [{"output": "counting notes.txt\n", "cause": 3}]  # the run's output is in its observation


def test_the_final_line_counts_error_observations(project: Path) -> None:
    write_json(
        project / "task.json",
        {
            "id": "errors",
            "actions": [
                {"action": "deploy", "args": {}},
                {"action": "read", "args": {"path": "missing.txt"}},
                {"action": "run", "args": {"command": "true"}},
                {"action": "finish", "args": {}},
            ],
        },
    )
    result = run_cli("run", "task.json", "--workspace", "ws", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished · passed · 4 steps · 2 errors · " in result.stdout
    assert read_log(project / "run.jsonl")[-1]["result"]["errors"] == 2
    shown = run_cli("show", "run.jsonl", cwd=project)
    assert "finished · passed · 4 steps · 2 errors" in shown.stdout


def test_run_replay_and_show_count_the_same_steps(project: Path) -> None:
    """A step is an action the agent took; the task's checks are not steps, in any command."""
    write_json(
        project / "task.json",
        {
            "id": "checked",
            "actions": [
                {"action": "run", "args": {"command": "echo a > a.txt"}},
                {"action": "read", "args": {"path": "a.txt"}},
                {"action": "finish", "args": {}},
            ],
            "check": [{"action": "run", "args": {"command": "test -f a.txt"}}],
        },
    )
    run = run_cli("run", "task.json", "--workspace", "ws", "--log", "run.jsonl", cwd=project)
    assert "finished · passed · 3 steps · " in run.stdout, run.stdout + run.stderr
    replayed = run_cli("replay", "run.jsonl", "--log", "replay.jsonl", cwd=project)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "replayed · passed · 3 steps · " in replayed.stdout, replayed.stdout
    assert read_log(project / "replay.jsonl")[-1]["result"]["steps"] == 3
    assert "· 3 steps ·" in run_cli("show", "replay.jsonl", cwd=project).stdout
