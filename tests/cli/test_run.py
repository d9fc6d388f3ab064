"""The `run` command end to end: the CLI in a subprocess, in a project of its own.

1. ``agentexec run examples/hello/task.json`` streams every action and observation, ends with a
   summary line, exits 0 and leaves an event log.
2. A module beside the config adds an action; the config names it; a task uses it; ``agentexec
   actions`` lists it — also when the config lives in another directory than the cwd.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import OPS_MODULE, REPO, read_log, write_json

COUNT_TASK = {
    "id": "count",
    "actions": [
        {"action": "write", "args": {"path": "notes.txt", "content": "one\ntwo\nthree\n"}},
        {"action": "count_lines", "args": {"path": "notes.txt"}},
    ],
}


@pytest.fixture
def hello(project: Path) -> Path:
    """The example task as a clean clone has it (no workspace yet), with its own config file."""
    target = project / "examples" / "hello"
    target.mkdir(parents=True)
    shutil.copy(REPO / "examples" / "hello" / "task.json", target / "task.json")
    (target / "ws").mkdir()  # the clone's empty ws/ (git keeps it by its .gitkeep)
    (project / "agentexec.toml").write_text('[core]\nlog_dir = "logs"\n')
    return project


def test_hello_example_streams_actions_and_summary(cli, hello: Path) -> None:
    result = cli("run", "examples/hello/task.json", cwd=hello)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    task = json.loads((hello / "examples/hello/task.json").read_text())
    for number, act in enumerate(task["actions"]):
        assert f"▶ {2 * number + 1} {act['action']} " in out
    for observation in ("✓ run exit 0", "✓ write", "✓ edit", "✓ read", "✓ finish"):
        assert observation in out
    assert "hello world (3)" in out
    summary = [line for line in out.splitlines() if line.startswith("finished · passed · 6 steps · ")]
    assert len(summary) == 1 and summary[0].split(" · ")[4].endswith(" s")
    logs = list((hello / "logs").glob("*-hello.jsonl"))
    assert len(logs) == 1
    assert summary[0].endswith(f" · checks 1/1 · event log: {logs[0]}")
    assert out.rstrip().endswith(summary[0])
    assert (hello / "examples/hello/ws/greeting.txt").read_text().count("hello world") == 3


def test_hello_event_log_has_header_seq_ts_and_cause(cli, hello: Path) -> None:
    log = hello / "run.jsonl"
    result = cli("run", "examples/hello/task.json", "--log", str(log), cwd=hello)
    assert result.returncode == 0, result.stderr
    header, *events, final = read_log(log)
    assert header["agentexec"] and header["format"] == 1 and header["started"]
    assert header["task"]["id"] == "hello"
    assert header["config"]["core"]["runtime_executor"] == "agentexec.executors:ActionExecutor"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(isinstance(e["ts"], float) for e in events)
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    for act, obs in zip(events[::2], events[1::2], strict=True):
        assert "action" in act and obs["cause"] == act["seq"]
        assert obs["observation"] == act["action"]
    assert events[-1]["phase"] == "check"
    assert final["result"]["outcome"] == "finished" and final["result"]["passed"] is True
    assert final["result"]["log"] == str(log)


@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["rich", "json"])
def test_output_streams_while_the_command_runs(project: Path, flags: list[str]) -> None:
    """Each line of a slow command reaches stdout before the next is printed, not at the end."""
    task = {"actions": [{"action": "run", "args": {"command": "for i in 1 2 3; do echo tick$i; sleep 0.4; done"}}]}
    write_json(project / "t.json", task)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", "t.json", *flags],
        cwd=project,
        stdout=subprocess.PIPE,
        text=True,
    )
    seen: dict[str, float] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if flags:
            event = json.loads(line)
            line = event.get("output", "")
            assert not line or event["cause"] == 1
        seen.setdefault(line.strip(), time.monotonic())
    assert proc.wait(timeout=30) == 0
    assert seen["tick3"] - seen["tick1"] > 0.5


def test_json_output_is_events_then_result(cli, project: Path) -> None:
    write_json(project / "t.json", COUNT_TASK | {"actions": COUNT_TASK["actions"][:1]})
    result = cli("run", "t.json", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["format"] == 1
    assert [e.get("action") or e.get("observation") for e in events[1:-1]] == ["write", "write", "finish", "finish"]
    assert events[-1]["result"]["passed"] is True


def write_ops_project(directory: Path, config: str = '[core]\nruntime_executor = "ops:OpsExecutor"\n') -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ops.py").write_text(OPS_MODULE)
    (directory / "agentexec.toml").write_text(config)


def count_observation(log: Path) -> dict:
    return next(e for e in read_log(log) if e.get("observation") == "count_lines")


def test_custom_executor_beside_config_runs_its_action(cli, project: Path) -> None:
    write_ops_project(project)
    write_json(project / "task.json", COUNT_TASK)
    result = cli("run", "task.json", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "▶ 3 count_lines" in result.stdout
    assert count_observation(project / "run.jsonl")["content"] == "3"
    assert not list(project.glob("**/*.egg-info"))


def test_custom_executor_with_config_in_another_directory(cli, project: Path) -> None:
    """``--config sub/agentexec.toml``: the module beside it imports, its relative paths are its own."""
    write_ops_project(project / "sub", '[core]\nruntime_executor = "ops:OpsExecutor"\nworkspace = "ws"\n')
    write_json(project / "task.json", COUNT_TASK)
    result = cli("run", "task.json", "--config", "sub/agentexec.toml", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert count_observation(project / "run.jsonl")["content"] == "3"
    assert (project / "sub" / "ws" / "notes.txt").is_file()
    listing = cli("actions", "--config", "sub/agentexec.toml", cwd=project)
    assert listing.returncode == 0, listing.stderr
    assert "count_lines" in listing.stdout and "path: str" in listing.stdout


def test_actions_lists_custom_action_with_arguments(cli, project: Path) -> None:
    write_ops_project(project)
    result = cli("actions", cwd=project, env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "count_lines" in line)
    assert "path: str" in row and "Count the lines of a workspace file." in row
    for standard in ("run", "read", "write", "edit", "finish", "message"):
        assert f"│ {standard} " in result.stdout
    assert "file_text: Optional[str] = None" in result.stdout


def test_actions_json_gives_json_schema(cli, project: Path) -> None:
    write_ops_project(project)
    result = cli("actions", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    tools = {tool["name"]: tool for tool in json.loads(result.stdout)}
    assert tools["count_lines"] == {
        "name": "count_lines",
        "description": "Count the lines of a workspace file.",
        "parameters": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"path": {"type": "string", "description": "file to count, relative to the workspace."}},
            "required": ["path"],
        },
    }
    assert tools["edit"]["parameters"]["properties"]["command"]["enum"][0] == "view"


def test_executor_flag_picks_module_in_cwd_without_config(cli, project: Path) -> None:
    (project / "ops.py").write_text(OPS_MODULE)
    write_json(project / "task.json", COUNT_TASK)
    result = cli("run", "task.json", "--executor", "ops:OpsExecutor", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert count_observation(project / "run.jsonl")["content"] == "3"


def test_failed_check_exits_1(cli, project: Path) -> None:
    task = {"actions": [], "check": [{"action": "run", "args": {"command": "test -f missing.txt"}}]}
    write_json(project / "t.json", task)
    result = cli("run", "t.json", cwd=project)
    assert result.returncode == 1
    assert "finished · failed · 1 step · 0 errors" in result.stdout and "checks 0/1" in result.stdout


def test_max_iterations_stops_the_run(cli, project: Path) -> None:
    step = {"action": "run", "args": {"command": "true"}}
    write_json(project / "t.json", {"actions": [step] * 5, "max_iterations": 4})
    result = cli("run", "t.json", "--max-iterations", "2", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 1
    final = read_log(project / "run.jsonl")[-1]["result"]
    assert final["outcome"] == "max_iterations" and final["steps"] == 2


def test_version(cli, project: Path) -> None:
    from agentexec import __version__

    result = cli("--version", cwd=project)
    assert result.returncode == 0 and result.stdout.strip() == f"agentexec {__version__}"


AGENTS = '''\
from agentexec.agents import Agent


class DictAgent(Agent):
    """Returns actions in their JSON form, as an LLM's tool call decodes to."""

    def step(self, state):
        if state.iteration == 0:
            return {"action": "run", "args": {"command": "echo from-dict"}}
        return {"action": "finish", "args": {"message": "dict agent done"}}


class NoneAgent(Agent):
    def step(self, state):
        return None
'''


def test_agent_may_return_the_dict_form(cli, project: Path) -> None:
    (project / "agents.py").write_text(AGENTS)
    write_json(project / "t.json", {"id": "dicts"})
    result = cli("run", "t.json", "--agent", "agents:DictAgent", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from-dict" in result.stdout and "dict agent done" in result.stdout


def test_agent_returning_nonsense_fails_the_task_with_a_reason(cli, project: Path) -> None:
    (project / "agents.py").write_text(AGENTS)
    write_json(project / "t.json", {"id": "none"})
    result = cli("run", "t.json", "--agent", "agents:NoneAgent", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 1
    final = read_log(project / "run.jsonl")[-1]["result"]
    assert final["outcome"] == "error"
    assert final["message"] == "EventFormatError: an event must be a JSON object, got NoneType"
    assert "Traceback" not in result.stdout + result.stderr
