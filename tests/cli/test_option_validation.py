"""Bad ``[executor]``/``[agent]``/``[runtime]`` values, a bad per-action timeout and a task's missing
workspace: each is refused before anything runs, in one line naming the key, value and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import read_log, write_json

TASK = {"id": "t", "actions": [{"action": "run", "args": {"command": "echo ran"}}]}


@pytest.mark.parametrize(
    ("config", "env", "expected"),
    [
        ("[executor]\ntimeout = -5\n", {}, "agentexec.toml:2: executor.timeout = -5: input should be greater than 0"),
        ("", {"AGENTEXEC_EXECUTOR_TIMEOUT": "abc"}, "env AGENTEXEC_EXECUTOR_TIMEOUT: executor.timeout = 'abc'"),
        ("[executor]\nmax_output_chars = 0\n", {}, "executor.max_output_chars = 0"),
        ('[core]\nruntime = "docker"\n[runtime]\nimage = 5\n', {}, "runtime.image = 5: input should be a valid string"),
        ("[agent]\nactoins = []\n", {}, "agent.actoins = []: agentexec.agents.scripted:ScriptedAgent has no option"),
    ],
)
def test_a_bad_option_exits_2_in_one_line(cli, project: Path, config: str, env: dict, expected: str) -> None:
    (project / "agentexec.toml").write_text(config)
    write_json(project / "t.json", TASK)
    result = cli("run", "t.json", "--log", "run.jsonl", cwd=project, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and not (project / "run.jsonl").exists()


def test_a_negative_per_action_timeout_is_an_error_observation_naming_it(cli, project: Path) -> None:
    actions = [{"action": "run", "args": {"command": "echo ran", "timeout": -1}}]
    write_json(project / "t.json", {"id": "t", "actions": actions})
    cli("run", "t.json", "--log", "run.jsonl", cwd=project)
    observation = [e for e in read_log(project / "run.jsonl") if "observation" in e][0]
    assert observation["observation"] == "error"
    assert "bad arguments for action 'run': timeout: Input should be greater than 0" in observation["content"]


def test_a_workspace_the_task_names_must_exist(cli, project: Path) -> None:
    write_json(project / "t.json", {**TASK, "workspace": "wrokspace"})
    result = cli("run", "t.json", cwd=project)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"workspace {project / 'wrokspace'} does not exist" in result.stderr
    assert not (project / "wrokspace").exists()


def test_a_missing_default_workspace_is_still_created(cli, project: Path) -> None:
    (project / "agentexec.toml").write_text('[core]\nworkspace = "fresh"\n')
    write_json(project / "t.json", TASK)
    result = cli("run", "t.json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "fresh").is_dir()
