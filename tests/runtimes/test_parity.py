"""The same bash-session and file-action behaviour through ``local``, ``process`` and ``sandbox``.

Each test runs once per runtime through ``agentexec.connect(runtime=...)`` and asserts the same
thing, so streaming, timeouts, ``is_input`` and interrupts cannot drift between in-process and
remote executors. The CLI tests run a custom executor module from a temporary user directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import agentexec
from agentexec.runtimes.base import Runtime
from tests.helpers import STREAMING_OPS_MODULE, bwrap_unavailable, read_log, run_cli, wait_for_sleepers, write_json

needs_bwrap = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
RUNTIMES = ["local", "process", pytest.param("sandbox", marks=needs_bwrap)]
REMOTE = ["process", pytest.param("sandbox", marks=needs_bwrap)]


@pytest.fixture(params=RUNTIMES)
def rt(request: pytest.FixtureRequest, tmp_path: Path):
    runtime = agentexec.connect(runtime=request.param, workspace=tmp_path / "ws")
    yield runtime
    runtime.close()


def run(rt: Runtime, command: str, **args: Any) -> Any:
    return rt.execute({"action": "run", "args": {"command": command, **args}})


def test_session_keeps_cwd_and_variables(rt: Runtime) -> None:
    first = run(rt, "mkdir -p sub && cd sub && export COLOUR=green && greet() { echo hello $1; }")
    assert first.extras["exit_code"] == 0 and first.extras["cwd"].endswith("/ws/sub")
    second = run(rt, "echo $COLOUR; greet you; pwd")
    assert second.content.splitlines() == ["green", "hello you", str(rt.workspace / "sub")]


def test_exit_codes(rt: Runtime) -> None:
    assert run(rt, "false").extras["exit_code"] == 1
    assert run(rt, "(exit 7)").extras["exit_code"] == 7
    missing = run(rt, "no-such-command-here")
    assert missing.extras["exit_code"] == 127 and "not found" in missing.content
    assert run(rt, "true").extras["exit_code"] == 0


def test_streaming_chunks_arrive_before_the_observation(rt: Runtime) -> None:
    chunks: list[tuple[float, str]] = []
    observation = rt.execute(
        {"action": "run", "args": {"command": "echo first; sleep 0.5; echo second"}},
        lambda text: chunks.append((time.monotonic(), text)),
    )
    returned = time.monotonic()
    assert "".join(text for _, text in chunks) == observation.content == "first\nsecond\n"
    assert len(chunks) >= 2
    assert chunks[0][1].startswith("first") and returned - chunks[0][0] >= 0.3


def test_timeout_then_input_then_ctrl_c(rt: Runtime) -> None:
    waiting = run(rt, "read -p 'name? ' name; echo hello $name", timeout=0.5)
    assert waiting.extras["running"] is True and waiting.extras["exit_code"] == -1
    assert "name?" in waiting.content
    answered = run(rt, "world", is_input=True)
    assert "hello world" in answered.content and answered.extras["exit_code"] == 0
    sleeping = run(rt, "sleep 30", timeout=0.3)
    assert sleeping.extras["running"] is True
    busy = run(rt, "echo other")
    assert busy.is_error and "still running" in busy.content
    stopped = run(rt, "C-c", is_input=True)
    assert stopped.extras["exit_code"] == 130 and "running" not in stopped.extras
    assert run(rt, "echo after").content == "after\n"


def test_interrupt_stops_the_running_command(rt: Runtime) -> None:
    timer = threading.Timer(0.5, rt.interrupt)
    started = time.monotonic()
    timer.start()
    observation = run(rt, "sleep 30")
    timer.join()
    assert observation.extras["exit_code"] == 130 and time.monotonic() - started < 5
    assert run(rt, "echo alive").content == "alive\n"


def test_read_write_edit(rt: Runtime) -> None:
    written = rt.execute({"action": "write", "args": {"path": "dir/notes.txt", "content": "a\nb\nc\n"}})
    assert not written.is_error and (rt.workspace / "dir/notes.txt").read_text() == "a\nb\nc\n"
    assert rt.execute({"action": "read", "args": {"path": "dir/notes.txt", "start": 1, "end": 2}}).content == "b\n"
    replaced = rt.execute(
        {"action": "edit", "args": {"command": "str_replace", "path": "dir/notes.txt", "old_str": "b", "new_str": "B"}}
    )
    assert not replaced.is_error and (rt.workspace / "dir/notes.txt").read_text() == "a\nB\nc\n"
    missing = rt.execute(
        {"action": "edit", "args": {"command": "str_replace", "path": "dir/notes.txt", "old_str": "zzz", "new_str": ""}}
    )
    assert missing.is_error
    view = rt.execute({"action": "edit", "args": {"command": "view", "path": "dir/notes.txt"}})
    assert "B" in view.content
    assert not rt.execute({"action": "edit", "args": {"command": "undo_edit", "path": "dir/notes.txt"}}).is_error
    assert (rt.workspace / "dir/notes.txt").read_text() == "a\nb\nc\n"
    assert rt.execute({"action": "read", "args": {"path": "nope.txt"}}).is_error


def test_bad_actions_are_error_observations(rt: Runtime) -> None:
    unknown = rt.execute({"action": "deploy", "args": {}})
    assert unknown.is_error and "unknown action 'deploy'" in unknown.content
    bad = rt.execute({"action": "read", "args": {"path": 5}})
    assert bad.is_error and "bad arguments for action 'read'" in bad.content
    assert {s["name"] for s in rt.action_schemas()} >= {"run", "read", "write", "edit"}


def test_closing_kills_background_processes(rt: Runtime) -> None:
    marker = f"{os.getpid() % 1000}.{time.monotonic_ns() % 100000}"
    run(rt, f"nohup sleep {marker} >/dev/null 2>&1 &")
    assert wait_for_sleepers(marker, running=True), "the background sleep should be running"
    rt.close()
    assert wait_for_sleepers(marker, running=False)


@pytest.mark.parametrize("runtime_name", RUNTIMES)
def test_custom_executor_from_the_users_directory(
    runtime_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"parity_ops_{runtime_name}"
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    (user_dir / f"{module}.py").write_text(STREAMING_OPS_MODULE)
    monkeypatch.chdir(user_dir)
    chunks: list[str] = []
    with agentexec.connect(runtime=runtime_name, executor=f"{module}:OpsExecutor", workspace=tmp_path / "ws") as rt:
        rt.execute({"action": "write", "args": {"path": "f.txt", "content": "1\n2\n3\n"}})
        observation = rt.execute({"action": "count_lines", "args": {"path": "f.txt"}}, chunks.append)
    assert observation.content == "3" and chunks == ["counting f.txt\n"]


# -- the CLI --------------------------------------------------------------------------------


def _ops_project(project: Path) -> Path:
    (project / "ops.py").write_text(STREAMING_OPS_MODULE)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "ops:OpsExecutor"\n')
    (project / "ws").mkdir(exist_ok=True)
    return write_json(
        project / "task.json",
        {
            "id": "ops",
            "instruction": "count the lines",
            "workspace": "ws",
            "actions": [
                {"action": "write", "args": {"path": "notes.txt", "content": "x\ny\n"}},
                {"action": "count_lines", "args": {"path": "notes.txt"}},
                {"action": "finish", "args": {"message": "counted"}},
            ],
            "check": [{"action": "run", "args": {"command": "test -f notes.txt"}}],
        },
    )


@pytest.mark.parametrize("runtime", REMOTE)
def test_cli_run_with_a_custom_executor_module(runtime: str, project: Path) -> None:
    task = _ops_project(project)
    result = run_cli("run", str(task), "--runtime", runtime, "--json", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {"output": "counting notes.txt\n"}.items() <= next(e for e in lines if "output" in e).items()
    observations = [e for e in read_log(project / "run.jsonl") if "observation" in e]
    assert [o["content"] for o in observations][1] == "2"
    assert (project / "ws" / "notes.txt").read_text() == "x\ny\n"


@pytest.mark.parametrize("runtime", REMOTE)
def test_ctrl_c_interrupts_a_remote_sleep(runtime: str, project: Path) -> None:
    marker = f"{os.getpid() % 1000}.{time.monotonic_ns() % 100000 + 1}"
    (project / "ws").mkdir(exist_ok=True)
    task = write_json(
        project / "task.json",
        {
            "id": "sleepy",
            "instruction": "sleep",
            "workspace": "ws",
            "actions": [{"action": "run", "args": {"command": f"sleep {marker}"}}],
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    cli = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", str(task), "--runtime", runtime, "--json", "--log", "run.jsonl"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_sleepers(marker, running=True, timeout=20), "the sleep never started"
        started = time.monotonic()
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=15) == 130
        assert time.monotonic() - started < 10
    finally:
        if cli.poll() is None:
            cli.kill()
        cli.communicate()
    observations = [e for e in read_log(project / "run.jsonl") if "observation" in e]
    assert observations[-1]["extras"].get("interrupted") is True
    assert wait_for_sleepers(marker, running=False)
