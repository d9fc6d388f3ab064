"""``agentexec mcp`` over stdio, driven by the official MCP SDK's own client."""

from __future__ import annotations

import json
import os
import subprocess
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


NOISY_MODULE = '''
import os
import subprocess

from agentexec.executors import ActionExecutor, action


class NoisyExecutor(ActionExecutor):
    @action
    def shout(self, text: str) -> str:
        """Print to the server's stdout three ways, then answer.

        Args:
            text: what to print and answer.
        """
        print(text, flush=True)
        os.write(1, (text + "\\n").encode())
        subprocess.run(["echo", text[:100]], check=True)
        return text
'''


def test_stray_stdout_of_an_action_never_reaches_the_wire_and_big_replies_arrive_whole(
    project: Path, tmp_path: Path
) -> None:
    """The wire is the server's own: what an action prints (itself, or a child inheriting stdout)
    goes to stderr, and a reply larger than a pipe's buffer arrives whole. Read as bare lines,
    since the SDK's client skips a line that is not JSON-RPC and so would hide a corrupted wire."""
    (project / "noisy.py").write_text(NOISY_MODULE)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "noisy:NoisyExecutor"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    args = ["-m", "agentexec", "mcp", "--runtime", "local", "--workspace", str(project), "--log", str(tmp_path / "l")]
    big = "y" * 300_000
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}
    requests = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized", "params": {}},
    ] + [
        {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "shout", "arguments": {"text": text}}}
        for n, text in ((1, "stray-marker"), (2, big), (3, "still here"))
    ]
    stderr_file = (tmp_path / "stderr.txt").open("w")  # a file: the big text printed would fill a pipe
    server = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        cwd=project,
        env=env,
    )
    assert server.stdin is not None and server.stdout is not None
    wire: list[str] = []
    for request in requests:  # one at a time: a session's end cancels the calls still running
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        if "id" in request:
            wire.append(server.stdout.readline())
    server.communicate(timeout=60)
    stderr_file.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert server.returncode == 0, stderr[-2000:]
    replies = [json.loads(line) for line in wire]  # every line on the wire is JSON-RPC
    texts = {r["id"]: r["result"]["content"][0]["text"] for r in replies if r.get("id")}
    assert texts == {1: "stray-marker", 2: big, 3: "still here"}
    assert stderr.count("stray-marker") == 3  # print, os.write and the child's echo, all on stderr
