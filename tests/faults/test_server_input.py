"""The stdio server never trusts its input: duplicated, out-of-order and flooding requests are each
answered (or refused) with an error line, and the server goes on. Oversized, malformed and unknown
requests are lines of the bad-input corpus (``tests/bad_inputs/protocol/``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO


class Server:
    """``agentexec serve --stdio`` in a subprocess, spoken to line by line."""

    def __init__(self, workspace: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentexec", "serve", "--stdio", "--workspace", str(workspace), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**env, "PYTHONPATH": str(REPO)},
            cwd=workspace,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, raw: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(raw if raw.endswith(b"\n") else raw + b"\n")
        self.process.stdin.flush()

    def request(self, **message: Any) -> None:
        self.send(json.dumps(message).encode())

    def next(self, timeout: float = 30) -> dict[str, Any]:
        """The next response that is not a heartbeat or streamed output."""
        while True:
            line = self.lines.get(timeout=timeout)
            assert line, f"the server ended (exit {self.process.wait(timeout=10)})"
            response = json.loads(line)
            if response["type"] not in ("alive", "output"):
                return response

    def close(self) -> int:
        self.request(type="close", id=999_999)
        assert self.next() == {"id": 999_999, "type": "ok"}
        return self.process.wait(timeout=30)


def started(workspace: Path):
    served = Server(workspace, "--max-request-bytes", "16384")
    served.request(type="hello", id=1)
    assert served.next()["type"] == "hello"
    yield served
    if served.process.poll() is None:
        served.process.kill()
        served.process.wait()


@pytest.fixture
def server(tmp_path: Path):
    yield from started(tmp_path)


def run(command: str) -> dict[str, Any]:
    return {"action": "run", "args": {"command": command}}


def test_a_duplicate_id_while_its_action_runs_is_refused_and_the_first_still_answers(server: Server) -> None:
    server.request(type="execute", id=5, action=run("sleep 0.5; echo first"))
    server.request(type="execute", id=5, action=run("echo second"))
    refused = server.next()
    assert (refused["id"], refused["type"]) == (5, "error")
    assert "still running" in refused["message"]
    result = server.next()
    assert (result["id"], result["type"], result["event"]["content"]) == (5, "result", "first\n")
    server.request(type="execute", id=5, action=run("echo again"))
    assert server.next()["event"]["content"] == "again\n", "an id may be reused once its action is answered"
    assert server.close() == 0


def test_out_of_order_ids_are_each_answered_with_their_own(server: Server) -> None:
    for request_id in (40, 3, 17, -2, 0):
        server.request(type="execute", id=request_id, action=run(f"echo {request_id}"))
        result = server.next()
        assert (result["id"], result["event"]["content"]) == (request_id, f"{request_id}\n")
    assert server.close() == 0


def test_a_flood_of_requests_is_answered_one_for_one_and_bounded(server: Server) -> None:
    """Thousands of requests written without waiting: each gets exactly one answer, none is lost."""
    count = 3000
    batch = b"".join(
        json.dumps({"type": "execute", "id": 1000 + i, "action": run(f"echo {i}")}).encode() + b"\n"
        if i % 3
        else json.dumps({"type": "interrupt", "id": 1000 + i}).encode() + b"\n"
        for i in range(count)
    )
    writer = threading.Thread(target=server.send, args=(batch,))
    writer.start()
    answers: dict[int, dict[str, Any]] = {}
    while len(answers) < count:
        answer = server.next()
        assert answer["id"] not in answers or answers[answer["id"]]["type"] == "error", answer
        answers[answer["id"]] = answer
    writer.join()
    assert sorted(answers) == list(range(1000, 1000 + count))
    kinds = {a["type"] for a in answers.values()}
    assert kinds <= {"ok", "result", "error"}
    executed = [a for a in answers.values() if a["type"] == "result"]
    assert executed, "some of the flood ran"
    for answer in answers.values():
        if answer["type"] == "error":
            assert "still running" in answer["message"], answer
    rss_kib = int(
        next(
            line
            for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
            if line.startswith("VmRSS")
        ).split()[1]
    )
    assert rss_kib < 300 * 1024
    assert server.close() == 0
