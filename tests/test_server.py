"""``agentexec serve --stdio`` spoken to directly, and the ``process`` runtime's failure handling.

Every test talks to a real server subprocess; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import agentexec
from agentexec.errors import ClassLoadError, RuntimeFailure
from agentexec.protocol import PROTOCOL_VERSION
from tests.helpers import read_log, run_cli, write_json


class Client:
    """A bare protocol client: write request lines, read response lines with a deadline."""

    def __init__(self, *args: str, cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentexec", "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self.selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def send(self, data: dict[str, Any] | bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data if isinstance(data, bytes) else json.dumps(data).encode() + b"\n")
        self.process.stdin.flush()

    def recv(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next message, or None at EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                raise TimeoutError(f"no message within {timeout} s; buffered {self.buffer[-200:]!r}")
            assert self.process.stdout is not None
            chunk = self.process.stdout.read()
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def until(self, request_id: int, kind: str, timeout: float = 10) -> list[dict[str, Any]]:
        """Messages up to and including the first of ``kind`` for ``request_id``."""
        seen = []
        while True:
            message = self.recv(timeout)
            assert message is not None, f"EOF before {kind}; got {seen}"
            seen.append(message)
            if message["id"] == request_id and message["type"] == kind:
                return seen

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def serve(tmp_path: Path):
    clients: list[Client] = []

    def start(*args: str) -> Client:
        client = Client("--stdio", "--workspace", str(tmp_path / "ws"), *args, cwd=tmp_path)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()


def run_request(request_id: int, command: str, **args: Any) -> dict[str, Any]:
    return {"type": "execute", "id": request_id, "action": {"action": "run", "args": {"command": command, **args}}}


def test_hello_reports_protocol_executor_and_schemas(serve) -> None:
    client = serve()
    client.send({"type": "hello", "id": 1, "env": {"GREETING": "hi"}})
    hello = client.recv()
    assert hello["type"] == "hello" and hello["id"] == 1
    assert hello["protocol"] == PROTOCOL_VERSION
    assert hello["agentexec"] == agentexec.__version__
    assert hello["executor"] == "agentexec.executors:ActionExecutor"
    names = {schema["name"] for schema in hello["actions"]}
    assert {"run", "read", "write", "edit", "finish"} <= names
    client.send(run_request(2, "echo $GREETING"))
    result = client.until(2, "result")[-1]
    assert result["event"]["content"] == "hi\n" and result["event"]["cause"] == 2


def test_output_streams_before_the_result(serve) -> None:
    client = serve()
    client.send({"type": "hello", "id": 1})
    client.recv()
    client.send(run_request(2, "echo one; sleep 0.3; echo two"))
    messages = client.until(2, "result")
    outputs = [m["event"]["output"] for m in messages if m["type"] == "output"]
    assert "".join(outputs) == "one\ntwo\n" and len(outputs) >= 2
    assert all(m["event"].get("cause") == 2 for m in messages if m["type"] == "output")
    assert messages[-1]["event"]["extras"]["exit_code"] == 0


def test_malformed_unknown_and_extra_fields_get_errors_and_the_server_goes_on(serve) -> None:
    client = serve()
    client.send(b"this is not json\n")
    bad = client.recv()
    assert bad["type"] == "error" and bad["id"] is None and bad["error"] == "EventFormatError"
    client.send({"type": "deploy", "id": 7})
    unknown = client.recv()
    assert unknown["id"] == 7 and "deploy" in unknown["message"]
    client.send({"type": "hello", "id": 8, "colour": "blue"})
    extra = client.recv()
    assert extra["id"] == 8 and extra["error"] == "EventFormatError" and "colour" in extra["message"]
    client.send({"type": "execute", "id": 9, "action": {"args": {}}})
    assert client.recv()["error"] == "EventFormatError"
    client.send(run_request(10, "echo still here"))
    assert client.until(10, "result")[-1]["event"]["content"] == "still here\n"


def test_oversized_request_is_skipped_with_an_error(serve) -> None:
    client = serve("--max-request-bytes", "1000")
    client.send(run_request(1, "echo " + "x" * 5000))
    error = client.recv()
    assert error["type"] == "error" and "exceeds the limit of 1000 bytes" in error["message"]
    client.send(run_request(2, "echo small"))
    assert client.until(2, "result")[-1]["event"]["content"] == "small\n"


def test_interrupt_stops_the_running_action_while_it_runs(serve) -> None:
    client = serve()
    client.send({"type": "hello", "id": 1, "heartbeat": 0.1})
    client.recv()
    client.send(run_request(2, "sleep 30"))
    client.until(2, "alive")
    client.send({"type": "execute", "id": 3, "action": {"action": "read", "args": {"path": "x"}}})
    alongside = client.until(3, "result")[-1]["event"]  # a file action runs beside the command
    assert alongside["observation"] == "error" and "x" in alongside["content"]
    client.send(run_request(5, "echo again"))
    busy = client.until(5, "result")[-1]["event"]  # the session itself is busy
    assert busy["extras"].get("running") and "busy" in busy["content"]
    started = time.monotonic()
    client.send({"type": "interrupt", "id": 4})
    messages = client.until(2, "result")
    if not any(m["type"] == "ok" and m["id"] == 4 for m in messages):  # the result may overtake the ok
        assert client.until(4, "ok")
    assert messages[-1]["event"]["extras"]["exit_code"] == 130
    assert time.monotonic() - started < 5


def test_an_interrupt_sent_with_the_action_is_never_lost(serve, tmp_path: Path) -> None:
    """Execute and interrupt in one write: the interrupt reaches the action whether it is still
    queued for the worker thread (then it never starts) or already in bash (then it is cut)."""
    client = serve()
    client.send({"type": "hello", "id": 1})
    client.recv()
    for n in range(5):
        request_id = 10 + 2 * n
        execute = run_request(request_id, f"sleep 30; touch done{n}")
        client.send(
            json.dumps(execute).encode()
            + b"\n"
            + json.dumps({"type": "interrupt", "id": request_id + 1}).encode()
            + b"\n"
        )
        result = client.until(request_id, "result", timeout=10)[-1]["event"]
        assert result["extras"].get("interrupted") or result["extras"].get("exit_code") == 130, result
    assert not list((tmp_path / "ws").glob("done*"))


def test_eof_shuts_down_and_kills_every_child(serve) -> None:
    client = serve()
    client.send(run_request(1, "nohup sleep 300 >/dev/null 2>&1 & echo $!"))
    pid = int(client.until(1, "result")[-1]["event"]["content"].split()[0])
    assert Path(f"/proc/{pid}").exists()
    assert client.process.stdin is not None
    client.process.stdin.close()
    assert client.process.wait(timeout=10) == 0
    assert _gone(pid)


def test_close_request_is_answered_then_the_server_exits(serve) -> None:
    client = serve()
    client.send({"type": "close", "id": 1})
    assert client.recv() == {"id": 1, "type": "ok"}
    assert client.process.wait(timeout=10) == 0


def test_prints_in_user_code_cannot_corrupt_the_protocol(serve, tmp_path: Path) -> None:
    (tmp_path / "noisy.py").write_text(
        textwrap.dedent(
            '''
            from agentexec.executors import ActionExecutor, action

            class Noisy(ActionExecutor):
                @action
                def shout(self, text: str) -> str:
                    """Print to stdout, then answer."""
                    print("stray print", text)
                    self.emit("streamed\\n")
                    return text.upper()
            '''
        )
    )
    client = serve("--executor", "noisy:Noisy", "--import-path", str(tmp_path))
    client.send({"type": "execute", "id": 1, "action": {"action": "shout", "args": {"text": "hey"}}})
    messages = client.until(1, "result")
    assert [m["type"] for m in messages] == ["output", "result"]
    assert messages[-1]["event"]["content"] == "HEY"


def test_unknown_executor_class_is_a_protocol_error_and_exit_2(serve) -> None:
    client = serve("--executor", "nowhere_module:Nope")
    error = client.recv()
    assert error["type"] == "error" and error["error"] == "ClassLoadError" and "nowhere_module" in error["message"]
    assert client.process.wait(timeout=10) == 2


def test_serve_needs_a_transport(tmp_path: Path) -> None:
    result = run_cli("serve", cwd=tmp_path)
    assert result.returncode == 2 and "--stdio" in result.stderr


# -- the process runtime when the server fails --------------------------------------------


def test_connect_with_an_unknown_executor_raises_the_servers_error(tmp_path: Path) -> None:
    with pytest.raises(ClassLoadError, match="nowhere_module"):
        agentexec.connect(runtime="process", executor="nowhere_module:Nope", workspace=tmp_path)


def test_server_killed_mid_action_gives_an_error_observation_then_restarts(tmp_path: Path) -> None:
    rt = agentexec.connect(runtime="process", workspace=tmp_path)
    try:
        rt.restart = True
        first = rt.execute({"action": "run", "args": {"command": "export KEPT=1; echo ready"}})
        assert first.content == "ready\n"
        dead = rt.execute({"action": "run", "args": {"command": "kill -9 $PPID; sleep 5"}})
        assert dead.is_error and "died while running action 'run'" in dead.content
        assert "killed by SIGKILL" in dead.content and "last stderr lines" in dead.content
        after = rt.execute({"action": "run", "args": {"command": "echo ${KEPT:-reset}"}})
        assert after.content == "reset\n"
        assert any("restarted" in note for note in after.extras["notes"])
    finally:
        rt.close()


def test_without_restart_the_next_action_fails_clearly(tmp_path: Path) -> None:
    with agentexec.connect(runtime="process", workspace=tmp_path) as rt:
        assert rt.execute({"action": "run", "args": {"command": "kill -9 $PPID"}}).is_error
        with pytest.raises(RuntimeFailure, match="restart = true"):
            rt.execute({"action": "run", "args": {"command": "true"}})


def test_hung_server_is_detected_by_the_response_timeout(tmp_path: Path) -> None:
    with agentexec.connect(runtime="process", workspace=tmp_path) as rt:
        rt.response_timeout = 1.0
        rt.restart = True
        started = time.monotonic()
        hung = rt.execute({"action": "run", "args": {"command": "kill -STOP $PPID; sleep 5"}})
        assert hung.is_error and "sent nothing for 1 s" in hung.content and "hung" in hung.content
        assert time.monotonic() - started < 8
        assert rt.execute({"action": "run", "args": {"command": "echo back"}}).content == "back\n"


def test_long_silent_actions_are_not_mistaken_for_a_hang(tmp_path: Path) -> None:
    with agentexec.connect(runtime="process", workspace=tmp_path) as rt:
        rt.close()
        rt.response_timeout = 0.6  # heartbeats every 0.2 s keep a 1.5 s silent command alive
        rt.start()
        observation = rt.execute({"action": "run", "args": {"command": "sleep 1.5; echo done"}})
        assert observation.content == "done\n"


def test_every_action_is_in_the_event_log_when_the_server_dies(project: Path) -> None:
    (project / "agentexec.toml").write_text("[runtime]\nrestart = true\n")
    (project / "ws").mkdir()
    task = write_json(
        project / "task.json",
        {
            "id": "dies",
            "instruction": "survive a dead server",
            "workspace": "ws",
            "actions": [
                {"action": "run", "args": {"command": "echo one"}},
                {"action": "run", "args": {"command": "kill -9 $PPID"}},
                {"action": "run", "args": {"command": "echo three"}},
                {"action": "finish", "args": {}},
            ],
        },
    )
    result = run_cli("run", str(task), "--runtime", "process", "--log", "run.jsonl", cwd=project)
    assert result.returncode == 0, result.stderr
    events = read_log(project / "run.jsonl")
    actions = [e for e in events if "action" in e]
    observations = [e for e in events if "observation" in e]
    assert len(actions) == 4 and len(observations) == 4
    assert observations[1]["observation"] == "error" and "killed by SIGKILL" in observations[1]["content"]
    assert observations[2]["content"] == "three\n"


def test_interrupt_from_another_thread(tmp_path: Path) -> None:
    with agentexec.connect(runtime="process", workspace=tmp_path) as rt:
        timer = threading.Timer(0.5, rt.interrupt)
        timer.start()
        observation = rt.execute({"action": "run", "args": {"command": "sleep 30"}})
        timer.join()
        assert observation.extras["exit_code"] == 130


def _gone(pid: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_shuts_the_server_down_cleanly(serve) -> None:
    client = serve()
    client.send(run_request(1, "sleep 300 >/dev/null 2>&1 & echo $!"))
    pid = int(client.until(1, "result")[-1]["event"]["content"].split()[0])
    client.process.send_signal(signal.SIGTERM)
    client.process.wait(timeout=10)
    assert _gone(pid)


def test_a_failing_output_callback_does_not_wedge_the_next_action(tmp_path: Path) -> None:
    def broken(text: str) -> None:
        raise ValueError("callback broke")

    with agentexec.connect(runtime="process", workspace=tmp_path) as rt:
        with pytest.raises(ValueError, match="callback broke"):
            rt.execute({"action": "run", "args": {"command": "echo a; sleep 0.3; echo b"}}, broken)
        assert rt.execute({"action": "run", "args": {"command": "echo next"}}).content == "next\n"


def test_the_console_script_command_forwards_to_the_same_server(tmp_path: Path) -> None:
    """``agentexec serve`` goes through typer; ``python -m agentexec serve`` skips it; same flags, same server."""
    code = "import sys; from agentexec.cli.app import main; sys.argv[0] = 'agentexec'; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--stdio", "-w", str(tmp_path / "ws")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(json.dumps({"type": "hello", "id": 1}) + "\n")
    server.stdin.flush()
    assert json.loads(server.stdout.readline())["executor"] == "agentexec.executors:ActionExecutor"
    server.stdin.close()
    assert server.wait(timeout=30) == 0
    server.stdout.close()
    usage = subprocess.run([sys.executable, "-c", code, "serve", "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--import-path" in usage.stdout


def test_the_servers_plain_json_responses_are_what_the_response_models_make() -> None:
    """The server writes responses without building their models; the client still parses them with those."""
    from agentexec.protocol import RESPONSE, ErrorMessage, ResultMessage, decode, encode, error_response, response

    event = {"observation": "run", "content": "é\n", "extras": {"path": Path("/w/a.txt"), "nan": float("nan")}}
    line = response("result", 7, event=event)
    assert line == encode(ResultMessage(type="result", id=7, event=event))
    assert decode(line, RESPONSE).event["extras"] == {"path": "/w/a.txt", "nan": None}
    error = error_response(ValueError("bad"))
    assert error == encode(ErrorMessage(type="error", id=None, error="ValueError", message="bad"))
