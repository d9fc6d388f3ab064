"""Record, replay and verify through the real CLI: every standard action, a custom executor's action,
a changed environment caught with a diff, path mapping, range options and a killed run's log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from agentexec.errors import UsageError
from agentexec.replay import open_log
from tests.helpers import read_log, run_cli, write_json

EVERY_ACTION = [
    {"action": "run", "args": {"command": "echo hello && date && echo pid $$ && sleep 0.01"}},
    {"action": "write", "args": {"path": "notes.txt", "content": "one\ntwo\n"}},
    {"action": "read", "args": {"path": "notes.txt", "start": 1}},
    {"action": "edit", "args": {"command": "create", "path": "made.txt", "file_text": "alpha\n"}},
    {"action": "edit", "args": {"command": "str_replace", "path": "notes.txt", "old_str": "two", "new_str": "three"}},
    {"action": "edit", "args": {"command": "insert", "path": "notes.txt", "insert_line": 0, "new_str": "zero"}},
    {"action": "edit", "args": {"command": "undo_edit", "path": "notes.txt"}},
    {"action": "edit", "args": {"command": "view", "path": "notes.txt"}},
    {"action": "edit", "args": {"command": "view", "path": "."}},
    {"action": "run", "args": {"command": "cat missing.txt"}},
    {"action": "run", "args": {"command": "seq 1 20000"}},  # spilled to a file: its path differs
    {"action": "run", "args": {"command": "(sleep 0.3; echo late) &"}},  # a job outliving its command
    {"action": "message", "args": {"content": "working on it"}},
    {"action": "finish", "args": {"message": "done"}},
]


def record(project: Path, actions: list[dict[str, Any]], *extra: str, name: str = "task", **task: Any) -> Path:
    """Run a task with ``agentexec run`` and return its log."""
    task_file = write_json(project / f"{name}.json", {"id": name, "workspace": "ws", "actions": actions, **task})
    (project / "ws").mkdir(exist_ok=True)
    log = project / f"{name}.jsonl"
    done = run_cli("run", str(task_file), "--log", str(log), "--json", *extra, cwd=project)
    assert done.returncode == 0, done.stderr
    return log


def replay_json(project: Path, log: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """``agentexec replay --json``: exit code, stdout records, stderr."""
    # TMPDIR: the fresh workspaces a replay makes land in the test's own directory.
    env = {"TMPDIR": str(project.parent)}
    done = run_cli("replay", str(log), "--json", "--log", str(project / "replayed.jsonl"), *args, cwd=project, env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return done.returncode, lines, done.stderr


def test_every_standard_action_round_trips_with_verify(project: Path) -> None:
    log = record(project, EVERY_ACTION)
    code, lines, stderr = replay_json(project, log, "--verify")
    assert code == 0, stderr
    result = lines[-1]["result"]
    assert result["outcome"] == "replayed" and result["passed"]
    assert result["verify"] == {
        "compared": len(EVERY_ACTION),
        "matched": len(EVERY_ACTION),
        "diverged": 0,
        "not_recorded": 0,
        "divergent_seqs": [],
    }
    replayed = [line["action"] for line in lines if "action" in line]
    assert replayed == [a["action"] for a in EVERY_ACTION]
    header = lines[0]
    assert header["replayed_from"]["path"] == str(log.resolve())
    assert header["replayed_from"]["format"] == "agentexec"
    # The new log is written too, and is itself a replayable log.
    assert read_log(project / "replayed.jsonl")[0]["replayed_from"]["path"] == str(log.resolve())
    again, _, stderr = replay_json(project, project / "replayed.jsonl", "--verify", "--log", str(project / "r2.jsonl"))
    assert again == 0, stderr


def test_replay_uses_a_fresh_workspace_and_maps_recorded_paths(project: Path) -> None:
    absolute = str(project / "ws" / "abs.txt")
    log = record(project, [{"action": "write", "args": {"path": absolute, "content": "x"}}])
    (project / "ws" / "abs.txt").unlink()
    code, lines, stderr = replay_json(project, log, "--verify", "--keep-workspace")
    assert code == 0, stderr
    new_workspace = Path(lines[0]["workspace"])
    assert new_workspace != project / "ws"
    assert f"the replay's workspace is kept at {new_workspace}" in stderr
    assert (new_workspace / "abs.txt").read_text() == "x"
    assert not (project / "ws" / "abs.txt").exists()
    assert [line["args"]["path"] for line in lines if line.get("action") == "write"] == [str(new_workspace / "abs.txt")]


def test_custom_executor_action_round_trips(project: Path) -> None:
    (project / "ops.py").write_text(
        "from agentexec.executors import ActionExecutor, action\n\n"
        "class OpsExecutor(ActionExecutor):\n"
        "    @action\n"
        "    def count_lines(self, path: str) -> str:\n"
        '        """Count the lines of a workspace file."""\n'
        "        return str(len(self.resolve(path).read_text().splitlines()))\n"
    )
    actions = [
        {"action": "write", "args": {"path": "a.txt", "content": "1\n2\n3\n"}},
        {"action": "count_lines", "args": {"path": "a.txt"}},
    ]
    log = record(project, actions, "--executor", "ops:OpsExecutor")
    assert read_log(log)[0]["config"]["core"]["runtime_executor"] == "ops:OpsExecutor"
    code, lines, stderr = replay_json(project, log, "--verify")
    assert code == 0, stderr
    counted = [line for line in lines if line.get("observation") == "count_lines"]
    assert counted and counted[0]["content"] == "3"
    # Replayed with the standard executor instead, the custom action is reported, not skipped.
    code, lines, _ = replay_json(project, log, "--verify", "--executor", "agentexec.executors:ActionExecutor")
    assert code == 1
    assert "unknown action 'count_lines'" in next(
        line["content"] for line in lines if line.get("observation") == "error"
    )
    assert lines[-1]["result"]["verify"]["divergent_seqs"] == [3]


def test_changed_environment_is_caught_with_a_readable_diff(project: Path, tmp_path: Path) -> None:
    (project / "ws").mkdir()
    (project / "ws" / "input.txt").write_text("alpha\ngamma\n")
    actions = [
        {"action": "run", "args": {"command": "cat input.txt"}},
        {"action": "run", "args": {"command": "wc -l < input.txt"}},
        {"action": "run", "args": {"command": "echo same"}},
    ]
    log = record(project, actions)
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "input.txt").write_text("beta\ngamma\n")
    done = run_cli("replay", str(log), "--verify", "--workspace", str(changed), cwd=project)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "≠ seq 1 run diverged from the recording" in out
    assert "--- recorded (seq 1)" in out and "+++ replayed (seq 1)" in out
    assert "-alpha" in out and "+beta" in out
    assert "verify: 4 compared · 3 matched · 1 diverged" in out
    assert "Traceback" not in done.stderr
    # --ignore turns the expected difference off.
    ignored = run_cli(
        "replay", str(log), "--verify", "--workspace", str(changed), "--ignore", "alpha|beta", cwd=project
    )
    assert ignored.returncode == 0, ignored.stdout


def test_stop_on_divergence_and_ranges(project: Path, tmp_path: Path) -> None:
    actions = [
        {"action": "run", "args": {"command": f"echo {i} >> count.txt; cat count.txt | wc -l"}} for i in range(4)
    ]
    log = record(project, actions)
    elsewhere = tmp_path / "prefilled"
    elsewhere.mkdir()
    (elsewhere / "count.txt").write_text("old\n")
    code, lines, _ = replay_json(project, log, "--verify", "--stop-on-divergence", "--workspace", str(elsewhere))
    assert code == 1
    assert lines[-1]["result"]["steps"] == 1
    assert [line["divergence"]["seq"] for line in lines if "divergence" in line] == [1]
    code, lines, stderr = replay_json(project, log, "--from", "3", "--to", "5")
    assert code == 0, stderr
    assert [line["args"]["command"][:6] for line in lines if "action" in line] == ["echo 1", "echo 2"]
    bad = run_cli("replay", str(log), "--from", "5", "--to", "3", cwd=project)
    assert bad.returncode == 2 and "--from 5 is after --to 3" in bad.stderr


def test_killed_runs_log_with_a_cut_last_line_replays(project: Path) -> None:
    log = record(project, [{"action": "run", "args": {"command": f"echo {i}"}} for i in range(3)])
    lines = log.read_text().splitlines(keepends=True)
    killed = project / "killed.jsonl"
    # Killed while writing the second observation: no result line, half a line at the end.
    killed.write_text("".join(lines[:4]) + lines[4][: len(lines[4]) // 2])
    code, out, stderr = replay_json(project, killed, "--verify")
    assert code == 0, stderr
    assert f"{killed}:5: the last line is cut" in stderr
    assert out[-1]["result"]["verify"]["compared"] == 1
    assert out[-1]["result"]["verify"]["not_recorded"] == 1


def test_malformed_logs_exit_2_naming_the_line(project: Path) -> None:
    log = record(project, [{"action": "run", "args": {"command": "echo hi"}}])
    lines = log.read_text().splitlines(keepends=True)
    cases = {
        "middle.jsonl": ("".join(lines[:2]) + "{not json\n" + "".join(lines[2:]), "middle.jsonl:3: invalid JSON"),
        "shape.jsonl": ("".join(lines[:2]) + '{"seq": 9, "action": 5}\n', "shape.jsonl:3: bad action event"),
        "future.jsonl": (json.dumps({"agentexec": "9.0", "format": 2}) + "\n", "log format 2"),
        "empty.jsonl": ("", "is empty"),
        "other.json": ('{"some": "thing"}', "not a format agentexec reads"),
    }
    for name, (text, message) in cases.items():
        (project / name).write_text(text)
        with pytest.raises(UsageError, match=re.escape(message)):
            for _ in open_log(project / name).entries():
                pass
    for command, name in (("replay", "middle.jsonl"), ("show", "shape.jsonl"), ("replay", "future.jsonl")):
        done = run_cli(command, name, cwd=project, env={"TMPDIR": str(project.parent)})
        assert done.returncode == 2, (name, command, done.stdout, done.stderr)
        assert cases[name][1] in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    bad_regex = run_cli("replay", str(log), "--verify", "--ignore", "(", cwd=project)
    assert bad_regex.returncode == 2 and "--ignore '('" in bad_regex.stderr


def test_replay_config_is_the_recorded_one_unless_overridden(project: Path) -> None:
    log = record(project, [{"action": "run", "args": {"command": "echo hi"}}])
    stray = project / "agentexec.toml"
    stray.write_text('[core]\nruntime_executor = "nowhere:Missing"\n')
    code, lines, stderr = replay_json(project, log)  # a config that merely sits in the cwd does not apply
    assert code == 0, stderr
    assert lines[0]["config"]["core"]["runtime_executor"] == "agentexec.executors:ActionExecutor"
    code, _, stderr = replay_json(project, log, "--config", str(stray))
    assert code == 2 and "nowhere" in stderr
    code, lines, stderr = replay_json(project, log, "--config", str(stray), "--executor", "default")
    assert code == 0, stderr
    assert lines[0]["config"]["core"]["runtime_executor"] == "default"
