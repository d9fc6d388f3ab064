"""``agentexec mcp --http`` on 127.0.0.1, driven by the official SDK's Streamable HTTP client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import OPS_MODULE, read_log, run_cli

pytest.importorskip("mcp", reason="the mcp extra is not installed: pip install 'agentexec[mcp]'")

import anyio  # noqa: E402
from mcp.client.session import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402

STREAMING = "for i in 1 2 3; do echo line$i; sleep 0.1; done; printf 'a\\nb\\nc\\n' > n.txt"


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, token: str, log: Path) -> None:
        self.proc, self.url, self.token, self.log = proc, url, token, log


def start(project: Path, log: Path, *extra: str, env_token: str | None = None) -> Served:
    (project / "ops.py").write_text(OPS_MODULE)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "ops:OpsExecutor"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    if env_token is not None:
        env["AGENTEXEC_MCP_TOKEN"] = env_token
    args = [sys.executable, "-m", "agentexec", "mcp", "--http", "127.0.0.1:0", "--workspace", str(project)]
    proc = subprocess.Popen([*args, "--log", str(log), *extra], cwd=project, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    if "serving" not in line:
        proc.kill()
        pytest.fail(f"server did not start: {line}{proc.stderr.read()}")
    url = line.split("serving ", 1)[1].split(" ", 1)[0]
    token = env_token if env_token is not None else line.rsplit("token ", 1)[1].rstrip(")\n")
    return Served(proc, url, token, log)


def stop(served: Served) -> str:
    served.proc.terminate()
    _, err = served.proc.communicate(timeout=20)
    return err


@pytest.fixture
def served(project: Path, tmp_path: Path) -> Iterator[Served]:
    running = start(project, tmp_path / "log.jsonl")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            stop(running)


async def with_session(served: Served, token: str, body) -> None:
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with client, streamable_http_client(served.url, http_client=client) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await body(session)


def post_initialize(url: str, headers: dict[str, str]) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_requests_without_or_with_a_wrong_token_get_401(served: Served) -> None:
    assert served.url.startswith("http://127.0.0.1:")
    assert len(served.token) >= 32
    assert post_initialize(served.url, {}) == 401
    assert post_initialize(served.url, {"Authorization": "Bearer wrong"}) == 401
    assert post_initialize(served.url, {"Authorization": served.token}) == 401  # no Bearer scheme
    assert post_initialize(served.url, {"Authorization": f"Bearer {served.token}"}) == 200


def test_the_sdk_client_with_a_wrong_token_fails_and_the_server_lives_on(served: Served) -> None:
    async def body(session: ClientSession) -> None:
        await session.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the SDK wraps the 401 in its own exception group
        anyio.run(with_session, served, "not-the-token", body)
    listed: list[str] = []

    async def good(session: ClientSession) -> None:
        listed.extend(tool.name for tool in (await session.list_tools()).tools)

    anyio.run(with_session, served, served.token, good)
    assert "count_lines" in listed


def test_tools_calls_streaming_errors_and_log_over_http(served: Served, project: Path) -> None:
    results: dict = {}
    chunks: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        chunks.append(message or "")

    async def body(session: ClientSession) -> None:
        results["tools"] = {tool.name: tool for tool in (await session.list_tools()).tools}
        results["run"] = await session.call_tool("run", {"command": STREAMING}, progress_callback=on_progress)
        results["count"] = await session.call_tool("count_lines", {"path": "n.txt"})
        results["missing"] = await session.call_tool("count_lines", {"path": "absent.txt"})
        results["bad"] = await session.call_tool("count_lines", {"path": ["not", "a", "string"]})
        results["unknown"] = await session.call_tool("deploy", {"to": "prod"})

    anyio.run(with_session, served, served.token, body)
    expected = {s["name"]: s for s in json.loads(run_cli("actions", "--json", cwd=project).stdout)}
    assert set(results["tools"]) == set(expected) - {"finish", "message"}
    assert results["tools"]["count_lines"].input_schema == expected["count_lines"]["parameters"]
    assert not results["run"].is_error and results["run"].structured_content["exit_code"] == 0
    assert [c for c in chunks if c], "no progress notification carried output"
    assert "line3" in "".join(chunks)
    assert results["count"].content[0].text == "3"
    assert results["missing"].is_error
    assert results["bad"].is_error and "path" in results["bad"].content[0].text
    assert results["unknown"].is_error and "deploy" in results["unknown"].content[0].text
    stop(served)
    records = read_log(served.log)
    assert [r["action"] for r in records if "action" in r] == ["run", "count_lines", "count_lines", "count_lines"]
    assert records[-1]["result"]["steps"] == 4


def test_cancelling_an_http_call_interrupts_the_command(served: Served) -> None:
    after: dict = {}

    async def body(session: ClientSession) -> None:
        with anyio.move_on_after(1.0):
            await session.call_tool("run", {"command": "sleep 30; echo never"})
        with anyio.fail_after(15):  # the session is free again only once the interrupted command ended
            after["next"] = await session.call_tool("run", {"command": "echo alive"})

    anyio.run(with_session, served, served.token, body)
    assert after["next"].content[0].text.strip().startswith("alive")
    stop(served)
    observations = [r for r in read_log(served.log) if r.get("observation") == "run"]
    assert observations[0]["extras"]["exit_code"] != 0
    assert "never" not in observations[0]["content"]


def test_a_token_from_the_environment_is_used_and_not_printed(project: Path, tmp_path: Path) -> None:
    running = start(project, tmp_path / "log.jsonl", env_token="s3cret-from-env")
    try:
        assert post_initialize(running.url, {"Authorization": "Bearer s3cret-from-env"}) == 200
        assert post_initialize(running.url, {}) == 401
    finally:
        err = stop(running)
    assert "s3cret-from-env" not in err


def test_a_bad_address_is_one_line_and_exit_2(project: Path) -> None:
    result = run_cli("mcp", "--http", "127.0.0.1:notaport", cwd=project)
    assert result.returncode == 2
    assert "--http" in result.stderr and "Traceback" not in result.stderr


def test_a_busy_port_or_an_empty_token_is_one_line_and_exit_2(project: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = run_cli("mcp", "--http", f"127.0.0.1:{port}", "--workspace", str(project), cwd=project)
    assert busy.returncode == 2 and f"127.0.0.1:{port}" in busy.stderr and "Traceback" not in busy.stderr
    empty = run_cli("mcp", "--http", "127.0.0.1:0", cwd=project, env={"AGENTEXEC_MCP_TOKEN": " "})
    assert empty.returncode == 2 and "token" in empty.stderr and "Traceback" not in empty.stderr
