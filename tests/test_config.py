"""The layered configuration: defaults < file < AGENTEXEC_* variables < flags.

The end-to-end tests name a different executor, agent and runtime at each layer and check, from the
event log, which ones actually ran; ``agentexec config`` must say where each value came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentexec
from agentexec.config import load_config
from agentexec.errors import ConfigError
from tests.helpers import read_log, write_json

MODS = '''\
"""An executor, agent and runtime per configuration layer, each saying who it is."""

from agentexec.agents import Agent
from agentexec.events import Action
from agentexec.executors import ActionExecutor, action
from agentexec.runtimes import LocalRuntime


class NamedExecutor(ActionExecutor):
    @action
    def who(self) -> str:
        """Name the executor class."""
        return type(self).__name__


class NamedAgent(Agent):
    def step(self, state):
        if state.iteration == 0:
            return Action(action="who")
        return Action(action="finish", args={"message": type(self).__name__})


class NamedRuntime(LocalRuntime):
    def execute(self, action, on_output=None):
        observation = super().execute(action, on_output)
        observation.extras["runtime"] = type(self).__name__
        return observation


FileExecutor = type("FileExecutor", (NamedExecutor,), {})
EnvExecutor = type("EnvExecutor", (NamedExecutor,), {})
FlagExecutor = type("FlagExecutor", (NamedExecutor,), {})
FileAgent = type("FileAgent", (NamedAgent,), {})
EnvAgent = type("EnvAgent", (NamedAgent,), {})
FlagAgent = type("FlagAgent", (NamedAgent,), {})
FileRuntime = type("FileRuntime", (NamedRuntime,), {})
EnvRuntime = type("EnvRuntime", (NamedRuntime,), {})
FlagRuntime = type("FlagRuntime", (NamedRuntime,), {})
'''

FILE_CONFIG = """\
[core]
runtime_executor = "mods:FileExecutor"
agent = "mods:FileAgent"
runtime = "mods:FileRuntime"
"""

ENV = {
    "AGENTEXEC_CORE_RUNTIME_EXECUTOR": "mods:EnvExecutor",
    "AGENTEXEC_CORE_AGENT": "mods:EnvAgent",
    "AGENTEXEC_CORE_RUNTIME": "mods:EnvRuntime",
}
FLAGS = ["--executor", "mods:FlagExecutor", "--agent", "mods:FlagAgent", "--runtime", "mods:FlagRuntime"]


@pytest.fixture
def layered(project: Path) -> Path:
    (project / "mods.py").write_text(MODS)
    (project / "agentexec.toml").write_text(FILE_CONFIG)
    write_json(project / "t.json", {"id": "layers"})
    return project


def who_ran(log: Path) -> tuple[str, str, str]:
    """(executor, agent, runtime) as the run's events tell them."""
    events = read_log(log)
    who = next(e for e in events if e.get("observation") == "who")
    finish = next(e for e in events if e.get("observation") == "finish")
    return who["content"], finish["content"], who["extras"]["runtime"]


@pytest.mark.parametrize(
    ("env", "flags", "layer"),
    [({}, [], "File"), (ENV, [], "Env"), (ENV, FLAGS, "Flag")],
    ids=["file", "env-over-file", "flags-over-env"],
)
def test_each_layer_overrides_the_one_below(cli, layered: Path, env: dict, flags: list, layer: str) -> None:
    result = cli("run", "t.json", "--log", "run.jsonl", *flags, cwd=layered, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert who_ran(layered / "run.jsonl") == (f"{layer}Executor", f"{layer}Agent", f"{layer}Runtime")


def test_config_command_shows_values_and_sources(cli, layered: Path) -> None:
    env = {"AGENTEXEC_CORE_AGENT": "mods:EnvAgent", "AGENTEXEC_EXECUTOR_TIMEOUT": "30"}
    result = cli("config", "--json", "--runtime", "mods:FlagRuntime", cwd=layered, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["file"] == str(layered / "agentexec.toml")
    rows = {row["key"]: (row["value"], row["source"]) for row in data["values"]}
    assert rows["core.runtime_executor"] == ("mods:FileExecutor", f"{layered / 'agentexec.toml'}:2")
    assert rows["core.agent"] == ("mods:EnvAgent", "env AGENTEXEC_CORE_AGENT")
    assert rows["core.runtime"] == ("mods:FlagRuntime", "flag --runtime")
    assert rows["core.max_iterations"] == (100, "default")
    assert rows["executor.timeout"] == (30, "env AGENTEXEC_EXECUTOR_TIMEOUT")


def test_config_command_table(cli, layered: Path) -> None:
    result = cli("config", "--executor", "mods:FlagExecutor", cwd=layered, env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].strip() == f"config file: {layered / 'agentexec.toml'}"
    executor_row = next(line for line in lines if "core.runtime_executor" in line)
    assert "mods:FlagExecutor" in executor_row and "flag --executor" in executor_row
    agent_row = next(line for line in lines if "core.agent" in line)
    assert f"{layered / 'agentexec.toml'}:3" in agent_row
    assert "default" in next(line for line in lines if "core.log_dir" in line)


def test_precedence_in_load_config(tmp_path: Path) -> None:
    config = tmp_path / "agentexec.toml"
    config.write_text('[core]\nagent = "a.file:A"\nruntime = "r.file:R"\nmax_iterations = 5\n')
    environ = {"AGENTEXEC_CORE_AGENT": "a.env:A", "AGENTEXEC_CORE_MAX_ITERATIONS": "7", "HOME": "/nonexistent"}
    cfg = load_config(config, {"core.agent": "a.flag:A", "core.runtime": None}, environ=environ, cwd=tmp_path)
    assert (cfg.core.agent, cfg.core.runtime, cfg.core.max_iterations) == ("a.flag:A", "r.file:R", 7)
    assert cfg.sources["core.agent"] == "flag --agent"
    assert cfg.sources["core.max_iterations"] == "env AGENTEXEC_CORE_MAX_ITERATIONS"
    assert cfg.core.runtime_executor == "agentexec.executors:ActionExecutor"


def test_relative_paths_follow_the_layer_that_set_them(tmp_path: Path) -> None:
    """In a file, relative to the file's directory; from a variable or a flag, relative to the cwd."""
    conf_dir, cwd = tmp_path / "conf", tmp_path / "cwd"
    conf_dir.mkdir()
    cwd.mkdir()
    (conf_dir / "agentexec.toml").write_text('[core]\nworkspace = "ws"\nlog_dir = "../logs"\n')
    cfg = load_config(conf_dir / "agentexec.toml", environ={}, cwd=cwd)
    assert (cfg.core.workspace, cfg.core.log_dir) == (str(conf_dir / "ws"), str(tmp_path / "logs"))
    assert cfg.base_dir == conf_dir
    cfg = load_config(
        conf_dir / "agentexec.toml",
        {"core.workspace": "flagws"},
        environ={"AGENTEXEC_CORE_LOG_DIR": "envlogs"},
        cwd=cwd,
    )
    assert (cfg.core.workspace, cfg.core.log_dir) == (str(cwd / "flagws"), str(cwd / "envlogs"))


def test_default_log_dir_is_under_the_cwd(tmp_path: Path) -> None:
    cfg = load_config(environ={"XDG_CONFIG_HOME": str(tmp_path / "none")}, cwd=tmp_path)
    assert cfg.file is None
    assert cfg.core.log_dir == str(tmp_path / ".agentexec" / "runs")
    assert all(source == "default" for _, _, source in cfg.rows())


def test_config_file_search_order(tmp_path: Path) -> None:
    """``./agentexec.toml`` first, else the user config directory's ``agentexec/config.toml``."""
    user = tmp_path / "xdg" / "agentexec" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('[core]\nagent = "user"\n')
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    assert load_config(environ=environ, cwd=cwd).core.agent == "user"
    (cwd / "agentexec.toml").write_text('[core]\nagent = "local"\n')
    cfg = load_config(environ=environ, cwd=cwd)
    assert (cfg.core.agent, cfg.file) == ("local", cwd / "agentexec.toml")


def test_env_values_are_read_as_toml_when_they_are(tmp_path: Path) -> None:
    environ = {
        "AGENTEXEC_EXECUTOR_TIMEOUT": "2.5",
        "AGENTEXEC_EXECUTOR_OUTPUT_DIR": "/tmp/out dir",
        "AGENTEXEC_AGENT_ACTIONS": '[{action = "finish"}]',
        "AGENTEXEC_RUNTIME_FAST": "true",
    }
    cfg = load_config(environ=environ, cwd=tmp_path)
    assert cfg.executor == {"timeout": 2.5, "output_dir": "/tmp/out dir"}
    assert cfg.agent == {"actions": [{"action": "finish"}]}
    assert cfg.runtime == {"fast": True}


def test_sections_become_constructor_arguments(tmp_path: Path) -> None:
    config = tmp_path / "agentexec.toml"
    config.write_text("[executor]\ntimeout = 7.0\nmax_output_chars = 1234\n")
    with agentexec.connect(config, workspace=tmp_path / "ws") as rt:
        assert (rt.executor.timeout, rt.executor.max_output_chars) == (7.0, 1234)
        assert rt.config.sources["executor.timeout"] == f"{config}:2"
        assert rt.config.sources["core.workspace"].startswith("connect()")


def test_config_errors_are_value_errors(tmp_path: Path) -> None:
    (tmp_path / "agentexec.toml").write_text("[core]\nmax_iterations = -3\n")
    with pytest.raises(ValueError, match=r"agentexec.toml:2: core.max_iterations = -3"):
        load_config(environ={}, cwd=tmp_path)
    (tmp_path / "agentexec.toml").write_text("[core]\nworkspce = 'x'\n")
    with pytest.raises(ConfigError, match="did you mean 'workspace'"):
        load_config(environ={}, cwd=tmp_path)


def test_core_text_values_from_env_stay_text(tmp_path: Path) -> None:
    environ = {"AGENTEXEC_CORE_WORKSPACE": "2024", "AGENTEXEC_CORE_AGENT": "true", "AGENTEXEC_CORE_MAX_ITERATIONS": "9"}
    cfg = load_config(environ=environ, cwd=tmp_path)
    assert (cfg.core.workspace, cfg.core.agent, cfg.core.max_iterations) == (str(tmp_path / "2024"), "true", 9)


@pytest.mark.parametrize(
    ("env", "flags", "steps"),
    [({}, [], 3), ({"AGENTEXEC_CORE_MAX_ITERATIONS": "2"}, [], 2), ({"AGENTEXEC_CORE_MAX_ITERATIONS": "2"}, ["1"], 1)],
    ids=["task-over-file", "env-over-task", "flag-over-env"],
)
def test_step_limit_precedence_with_the_task_file(cli, project: Path, env: dict, flags: list, steps: int) -> None:
    """Like the workspace: the task's value beats the config file's; a variable or a flag beats the task's."""
    (project / "agentexec.toml").write_text("[core]\nmax_iterations = 4\n")
    step = {"action": "run", "args": {"command": "true"}}
    write_json(project / "t.json", {"actions": [step] * 5, "max_iterations": 3})
    max_flag = ["--max-iterations", *flags] if flags else []
    result = cli("run", "t.json", "--log", "run.jsonl", *max_flag, cwd=project, env=env)
    assert result.returncode == 1, result.stderr
    assert read_log(project / "run.jsonl")[-1]["result"]["steps"] == steps


def test_workspace_precedence_with_the_task_file(cli, project: Path) -> None:
    (project / "agentexec.toml").write_text('[core]\nworkspace = "from-file"\n')
    pwd = {"action": "run", "args": {"command": "pwd"}}
    write_json(project / "t.json", {"workspace": "from-task", "actions": [pwd]})
    (project / "from-task").mkdir()
    env = {"AGENTEXEC_CORE_WORKSPACE": "from-env"}
    runs = {
        "from-task": cli("run", "t.json", "--json", cwd=project),
        "from-env": cli("run", "t.json", "--json", cwd=project, env=env),
        "from-flag": cli("run", "t.json", "--json", "-w", "from-flag", cwd=project, env=env),
    }
    for name, result in runs.items():
        observation = next(json.loads(line) for line in result.stdout.splitlines() if '"observation": "run"' in line)
        assert observation["content"].strip() == str(project / name)
