"""The llm agent end to end: ``agentexec run`` against a scripted Chat Completions server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fake_openai import FakeOpenAI, failure, reply
from tests.helpers import OPS_MODULE, read_log, run_cli, write_json


def setup_project(project: Path, base_url: str, **agent: Any) -> Path:
    """A project with a custom executor, an llm agent config pointing at the fake server, and a task."""
    (project / "ops.py").write_text(OPS_MODULE)
    options = {"model": "fake-model", "base_url": base_url, "retry_initial_delay": 0.01, **agent}
    lines = [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    (project / "agentexec.toml").write_text(
        '[core]\nruntime_executor = "ops:OpsExecutor"\nagent = "llm"\nworkspace = "ws"\n\n[agent]\n'
        + "\n".join(lines)
        + "\n"
    )
    (project / "ws").mkdir()
    (project / "ws" / "notes.txt").write_text("a\nb\nc\n")
    return write_json(project / "task.json", {"id": "count", "instruction": "How many lines has notes.txt?"})


def run(project: Path, task: Path) -> tuple[Any, list[dict[str, Any]]]:
    log = project / "run.jsonl"
    result = run_cli("run", str(task), "--log", str(log), "--json", cwd=project, env={"OPENAI_API_KEY": ""})
    return result, read_log(log)


def test_custom_action_is_a_tool_and_usage_is_logged(project: Path) -> None:
    script = [
        reply("Let me count.", calls=[("count_lines", '{"path": "notes.txt"}')], prompt_tokens=50, completion_tokens=5),
        reply(calls=[("finish", '{"message": "notes.txt has 3 lines"}')], prompt_tokens=70, completion_tokens=7),
    ]
    with FakeOpenAI(script) as server:
        task = setup_project(project, server.base_url)
        result, log = run(project, task)
    assert result.returncode == 0, result.stderr
    first = server.requests[0]["body"]
    tools = {tool["function"]["name"]: tool["function"] for tool in first["tools"]}
    assert {"count_lines", "run", "edit", "finish"} <= set(tools)
    assert tools["count_lines"]["parameters"]["properties"]["path"]["type"] == "string"
    assert "Count the lines" in tools["count_lines"]["description"]
    assert first["model"] == "fake-model"
    assert first["messages"][1] == {"role": "user", "content": "How many lines has notes.txt?"}
    tool_message = server.requests[1]["body"]["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "call_0", "content": "3"}
    actions = [r for r in log if "action" in r]
    assert actions[0]["action"] == "count_lines" and actions[0]["thought"] == "Let me count."
    assert actions[0]["usage"]["total_tokens"] == 55 and actions[1]["usage"]["run_total_tokens"] == 132
    assert all("usage" not in r for r in log if "observation" in r)
    assert log[-1]["result"]["message"] == "notes.txt has 3 lines"


def test_malformed_call_and_answer_without_tool(project: Path) -> None:
    script = [
        reply(calls=[("count_lines", '{"path": "notes.txt"')]),  # cut JSON
        reply("I think it has 3 lines."),  # no tool call: a message, then a nudge
        reply(calls=[("no_such_tool", "{}")]),  # unknown tool: the executor's error goes back
        reply("Done: 3 lines."),
        reply("Really done."),  # second answer in a row without a tool: finish
    ]
    with FakeOpenAI(script) as server:
        task = setup_project(project, server.base_url)
        result, log = run(project, task)
    assert result.returncode == 0, result.stderr
    second = server.requests[1]["body"]["messages"]
    assert second[-1]["role"] == "tool" and "malformed call of tool 'count_lines'" in second[-1]["content"]
    third = server.requests[2]["body"]["messages"]
    assert third[-2] == {"role": "assistant", "content": "I think it has 3 lines."}
    assert third[-1]["role"] == "user" and "without calling a tool" in third[-1]["content"]
    fourth = server.requests[3]["body"]["messages"]
    assert fourth[-1]["role"] == "tool" and fourth[-1]["content"].startswith("ERROR: unknown action 'no_such_tool'")
    actions = [r["action"] for r in log if "action" in r]
    assert actions == ["message", "no_such_tool", "message", "finish"]
    assert log[-1]["result"]["message"] == "Really done."
    assert [r for r in log if "action" in r][0]["usage"]["requests"] == 2


def test_server_errors_are_retried(project: Path) -> None:
    script = [failure(500), failure(429), reply(calls=[("finish", '{"message": "ok"}')])]
    with FakeOpenAI(script) as server:
        task = setup_project(project, server.base_url)
        result, log = run(project, task)
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 3
    assert [r for r in log if "action" in r][0]["usage"]["retries"] == 2


def test_client_error_ends_the_run_with_its_message(project: Path) -> None:
    with FakeOpenAI([failure(401)]) as server:
        task = setup_project(project, server.base_url)
        result, log = run(project, task)
    assert result.returncode == 1
    assert len(server.requests) == 1
    assert log[-1]["result"]["outcome"] == "error" and "401" in log[-1]["result"]["message"]


def test_budget_stops_the_run_cleanly(project: Path) -> None:
    script = [reply(calls=[("run", '{"command": "echo hi"}')], prompt_tokens=900, completion_tokens=200)] * 3
    with FakeOpenAI(script) as server:
        task = setup_project(
            project, server.base_url, max_cost=0.01, prompt_price_per_mtok=5.0, completion_price_per_mtok=15.0
        )
        result, log = run(project, task)
    # each request costs 900*5e-6 + 200*15e-6 = 0.0075: the second crosses 0.01, the third is never sent
    assert len(server.requests) == 2
    actions = [r for r in log if "action" in r]
    assert [a["action"] for a in actions] == ["run", "run"]
    assert log[-1]["result"]["message"].startswith("stopped: cost budget spent (0.0150 of max_cost=0.01)")
    assert actions[1]["usage"]["run_cost"] == 0.015
    assert log[-1]["result"]["outcome"] == "budget"
    assert result.returncode == 1  # a run that could not finish failed, whatever it did before


def test_bad_agent_config_is_one_line(project: Path) -> None:
    (project / "agentexec.toml").write_text('[core]\nagent = "llm"\n[agent]\nmodel = "m"\n')
    task = write_json(project / "task.json", {"id": "t"})
    result = run_cli("run", str(task), cwd=project, env={"OPENAI_API_KEY": ""})
    assert result.returncode == 2
    assert "set the environment variable OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_several_tool_calls_in_one_answer_run_one_per_step(project: Path) -> None:
    calls = [("count_lines", '{"path": "notes.txt"}'), ("run", '{"command": "echo two"}')]
    script = [reply("Both at once.", calls=calls), reply(calls=[("finish", "{}")])]
    with FakeOpenAI(script) as server:
        task = setup_project(project, server.base_url)
        result, log = run(project, task)
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 2
    messages = server.requests[1]["body"]["messages"]
    assert [m["role"] for m in messages[-3:]] == ["assistant", "tool", "tool"]
    assert messages[-2] == {"role": "tool", "tool_call_id": "call_0", "content": "3"}
    assert messages[-1]["tool_call_id"] == "call_1" and messages[-1]["content"].startswith("two\n[exit code 0; cwd ")
    actions = [r for r in log if "action" in r]
    assert [a["action"] for a in actions] == ["count_lines", "run", "finish"]
    assert "usage" in actions[0] and "usage" not in actions[1]  # one request, counted once
