"""The examples work as their READMEs say: a custom agent by class path, an executor plugin package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.fake_openai import FakeOpenAI, reply
from tests.helpers import REPO, read_log, run_cli
from tests.venv_helper import agentexec, make_venv, pip_install

EXAMPLES = REPO / "examples"


def test_custom_agent_example(tmp_path: Path) -> None:
    example = shutil.copytree(EXAMPLES / "custom_agent", tmp_path / "custom_agent")
    result = run_cli("run", "task.json", "--log", "run.jsonl", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (example / "ws" / "report.md").read_text() == "# Word counts\n\n- a.txt: 3 words\n- b.txt: 5 words\n"
    log = read_log(example / "run.jsonl")
    assert log[0]["config"]["core"]["agent"] == "mymod:MyAgent"
    assert log[-1]["result"]["checks"] == [{"action": "run", "passed": True}]


def test_ops_package_example(tmp_path: Path) -> None:
    package = shutil.copytree(EXAMPLES / "ops_package", tmp_path / "ops_package")
    python = make_venv(tmp_path / "venv")
    pip_install(python, package)

    plugins = json.loads(agentexec(python, "plugins", "--json", cwd=tmp_path).stdout)
    ops = next(row for row in plugins if row["name"] == "ops")
    assert ops["ok"] and ops["kind"] == "executor" and ops["distribution"] == "agentexec-ops"

    result = agentexec(python, "run", "task.json", "--executor", "ops", "--log", "run.jsonl", cwd=package)
    assert result.returncode == 0, result.stdout + result.stderr
    observations = [r for r in read_log(package / "run.jsonl") if "observation" in r]
    assert observations[0]["content"] == "3"
    assert observations[1]["content"].splitlines() == [
        "notes.txt:2: TODO write the docs",
        "src/app.py:2: # TODO: parse arguments",
    ]

    # The README's last step: with agent = "llm", the plugin's actions are the model's tools.
    script = [reply(calls=[("find_todos", '{"path": "src"}')]), reply(calls=[("finish", '{"message": "1 TODO"}')])]
    with FakeOpenAI(script) as server:
        (package / "agentexec.toml").write_text(
            f'[core]\nruntime_executor = "ops"\nagent = "llm"\n[agent]\nmodel = "m"\nbase_url = "{server.base_url}"\n'
        )
        result = agentexec(python, "run", "task.json", "--log", "llm.jsonl", cwd=package)
    assert result.returncode == 0, result.stdout + result.stderr
    tools = [tool["function"]["name"] for tool in server.requests[0]["body"]["tools"]]
    assert {"count_lines", "find_todos", "run"} <= set(tools)
    assert server.requests[1]["body"]["messages"][-1]["content"] == "src/app.py:2: # TODO: parse arguments"
