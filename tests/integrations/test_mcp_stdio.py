"""``agentexec mcp`` over stdio, driven by the official MCP SDK's own client."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import OPS_MODULE, read_log, run_cli

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install 'agentexec[mcp]'")

import anyio  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402

STREAMING = "for i in 1 2; do echo line$i; sleep 0.1; done; printf 'a\\nb\\n' > n.txt; echo streamed"


def server(project: Path, log: Path) -> StdioServerParameters:
    (project / "ops.py").write_text(OPS_MODULE)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "ops:OpsExecutor"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    args = ["-m", "agentexec", "mcp", "--workspace", str(project), "--log", str(log)]
    return StdioServerParameters(command=sys.executable, args=args, cwd=str(project), env=env)


async def session_run(params: StdioServerParameters, body) -> None:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await body(session)


def test_tools_are_the_actions_with_the_schemas_actions_json_prints(project: Path, tmp_path: Path) -> None:
    params = server(project, tmp_path / "log.jsonl")
    listed = {}

    async def body(session: ClientSession) -> None:
        listed.update({tool.name: tool for tool in (await session.list_tools()).tools})

    anyio.run(session_run, params, body)
    expected = {s["name"]: s for s in json.loads(run_cli("actions", "--json", cwd=project).stdout)}
    assert "finish" not in listed and "message" not in listed
    assert set(listed) == set(expected) - {"finish", "message"}
    assert listed["count_lines"].input_schema == expected["count_lines"]["parameters"]
    assert listed["count_lines"].description == expected["count_lines"]["description"]


def test_calls_stream_report_errors_and_land_in_a_replayable_log(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    params = server(project, log)
    results: dict = {}
    chunks: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        chunks.append(message or "")

    async def body(session: ClientSession) -> None:
        results["run"] = await session.call_tool("run", {"command": STREAMING}, progress_callback=on_progress)
        results["count"] = await session.call_tool("count_lines", {"path": "n.txt"})
        results["bad"] = await session.call_tool("count_lines", {"path": 3})
        results["unknown"] = await session.call_tool("deploy", {})
        results["finish"] = await session.call_tool("finish", {})

    anyio.run(session_run, params, body)
    assert not results["run"].is_error
    assert results["run"].structured_content["exit_code"] == 0
    assert "streamed" in "".join(chunks)
    assert results["count"].content[0].text == "2"
    assert results["bad"].is_error and "path" in results["bad"].content[0].text
    assert results["unknown"].is_error and "deploy" in results["unknown"].content[0].text
    assert results["finish"].is_error
    records = read_log(log)
    assert records[0]["agentexec"]
    actions = [r["action"] for r in records if "action" in r]
    assert actions == ["run", "count_lines", "count_lines"]
    assert records[-1]["result"]["steps"] == 3
    replayed = run_cli("replay", str(log), "--verify", "--json", cwd=project)
    assert replayed.returncode in (0, 1), replayed.stderr
    assert '"replayed"' in replayed.stdout or '"diverged"' in replayed.stdout


def test_cancelling_a_call_interrupts_the_command(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    params = server(project, log)
    after: dict = {}

    async def body(session: ClientSession) -> None:
        with anyio.move_on_after(1.0):
            await session.call_tool("run", {"command": "sleep 30"})
        after["next"] = await session.call_tool("run", {"command": "echo alive"})

    anyio.run(session_run, params, body)
    assert after["next"].content[0].text.strip().startswith("alive")
    observations = [r for r in read_log(log) if r.get("observation") == "run"]
    assert observations[0]["extras"]["exit_code"] != 0


def test_an_oversized_request_is_refused_by_name_and_the_server_carries_on(project: Path, tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    params = server(project, log)
    params.args.extend(["--max-request-bytes", "1000"])
    results: dict = {}

    async def body(session: ClientSession) -> None:
        results["big"] = await session.call_tool("run", {"command": "echo " + "x" * 5000})
        results["small"] = await session.call_tool("run", {"command": "echo small"})

    anyio.run(session_run, params, body)
    assert results["big"].is_error
    assert "1000" in results["big"].content[0].text and "--max-request-bytes" in results["big"].content[0].text
    assert results["small"].content[0].text.strip().startswith("small")
    assert [r["action"] for r in read_log(log) if "action" in r] == ["run"]
