"""``agentexec show``: renders logs (ours and imported) without executing, streams long logs."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from agentexec.replay import LogReader, open_log
from tests.helpers import PEER_DATA as SHARED
from tests.helpers import run_cli, write_json

OPENHANDS = SHARED / "openhands-trajectories"
MINISWE = SHARED / "mini-swe-agent-trajectories"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"peer data not found at {SHARED}")


def recorded(project: Path) -> Path:
    actions = [
        {"action": "run", "args": {"command": "echo hello"}, "thought": "greet"},
        {"action": "deploy", "args": {"to": "prod"}},
        {"action": "write", "args": {"path": "a.txt", "content": "x"}},
    ]
    task = write_json(project / "task.json", {"id": "shown", "instruction": "say hello", "actions": actions})
    log = project / "run.jsonl"
    done = run_cli("run", str(task), "--log", str(log), "--workspace", "ws", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    return log


def test_show_renders_header_actions_errors_timing_and_result(project: Path) -> None:
    log = recorded(project)
    done = run_cli("show", str(log), cwd=project)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "task shown" in out and "say hello" in out and "workspace " in out
    assert "▶ 1 run echo hello  +0.00 s  # greet" in out
    assert "▶ 3 deploy" in out and "unknown action 'deploy'" in out and "✗ error" in out
    assert "✓ write" in out
    assert "finished · passed · 4 steps" in out


def test_show_json_re_emits_normalised_events(project: Path) -> None:
    log = recorded(project)
    done = run_cli("show", str(log), "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    original = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == original


def test_show_cut_log_warns_and_says_the_run_did_not_finish(project: Path) -> None:
    log = recorded(project)
    text = log.read_text()
    cut = project / "cut.jsonl"
    cut.write_text(text[: text.rindex('{"result"') - 10])
    done = run_cli("show", str(cut), cwd=project)
    assert done.returncode == 0, done.stderr
    assert "the last line is cut" in done.stderr
    assert "no result line: the run was interrupted or killed" in done.stdout


def test_reading_a_long_log_streams_it(tmp_path: Path) -> None:
    log = tmp_path / "long.jsonl"
    events = 20_000
    with open(log, "w") as out:
        out.write(json.dumps({"agentexec": "0.1.0", "format": 1, "task": {"id": "long"}, "config": {}}) + "\n")
        for seq in range(1, events + 1, 2):
            out.write(json.dumps({"seq": seq, "ts": seq, "action": "run", "args": {"command": "x" * 200}}) + "\n")
            out.write(json.dumps({"seq": seq + 1, "observation": "run", "content": "y" * 200, "cause": seq}) + "\n")
        out.write(json.dumps({"result": {"outcome": "finished", "passed": True}}) + "\n")
    assert log.stat().st_size > 5_000_000
    tracemalloc.start()
    reader = LogReader(log)
    count = sum(1 for _ in reader.entries())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == events and reader.result == {"outcome": "finished", "passed": True}
    assert peak < 2_000_000, f"reading used {peak} bytes at peak: the log was not streamed"


@needs_shared
@pytest.mark.parametrize(
    "sample, expected",
    [
        (
            OPENHANDS / "basic.json",
            ["imported from openhands", "▶ 1 edit create /workspace/game_2048.py", "▶ 3 finish"],
        ),
        (OPENHANDS / "basic_gui_mode.json", ["▶ 1 run mkdir -p /workspace/todo-app", "exit -1", "▶ 9 message"]),
        (OPENHANDS / "wrong_initial_state.json", ["▶ 1 edit view /workspace", "▶ 3 run mv /workspace/game_2048.py"]),
        (MINISWE / "github_issue.traj.json", ["imported from mini-swe-agent", "▶ 1 run ( cat", "▶ 19 finish"]),
    ],
)
def test_show_renders_imported_trajectories(sample: Path, expected: list[str], tmp_path: Path) -> None:
    done = run_cli("show", str(sample), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout, text
    assert "no result line" not in done.stdout  # imports have none; that is not a killed run


@needs_shared
def test_show_json_of_an_import_is_a_replayable_log(tmp_path: Path) -> None:
    done = run_cli("show", str(OPENHANDS / "wrong_initial_state.json"), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    converted = tmp_path / "converted.jsonl"
    converted.write_text(done.stdout)
    again = open_log(converted)
    assert again.format == "agentexec" and again.header["imported"]["format"] == "openhands"
    assert [record["action"] for record, _ in again.entries() if "action" in record] == [
        "edit",
        "run",
        "edit",
        "finish",
    ]
