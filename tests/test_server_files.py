"""File transfers spoken to ``agentexec serve --stdio`` directly: raw frames after ``chunk`` headers.

A real server subprocess; each test writes request lines and frames by hand and reads the answers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentexec.protocol import MAX_CHUNK_BYTES


class FrameClient:
    """Blocking reads are enough here: every test knows what the server answers next."""

    def __init__(self, workspace: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentexec", "serve", "--stdio", "--workspace", str(workspace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send(self, message: dict[str, Any], payload: bytes = b"") -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n" + payload)
        self.process.stdin.flush()

    def recv(self) -> tuple[dict[str, Any], bytes]:
        """The next message and, for a chunk, the raw bytes after it."""
        assert self.process.stdout is not None
        message = json.loads(self.process.stdout.readline())
        payload = self.process.stdout.read(message["size"]) if message["type"] == "chunk" else b""
        return message, payload

    def read_file(self, request_id: int, path: str) -> tuple[list[dict[str, Any]], bytes]:
        self.send({"type": "read_file", "id": request_id, "path": path})
        messages, data = [], b""
        while True:
            message, payload = self.recv()
            messages.append(message)
            data += payload
            if message["type"] in ("ok", "error"):
                return messages, data

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def client(tmp_path: Path):
    (tmp_path / "ws").mkdir()
    client = FrameClient(tmp_path / "ws")
    client.send({"type": "hello", "id": 1})
    assert client.recv()[0]["type"] == "hello"
    yield client
    client.close()


#: Bytes that would break a line protocol: newlines, braces, a fake header, every byte value.
AWKWARD = b'\n{"type": "ok", "id": 2}\n' + bytes(range(256)) + b"\r\n\x00"


def test_raw_frames_carry_any_bytes_both_ways(client: FrameClient, tmp_path: Path) -> None:
    client.send({"type": "write_file", "id": 2, "path": "awkward.bin", "mode": 0o640})
    client.send({"type": "chunk", "id": 2, "size": len(AWKWARD)}, AWKWARD)
    client.send({"type": "chunk", "id": 2, "size": 3}, b"end")
    client.send({"type": "chunk", "id": 2, "last": True})
    assert client.recv()[0] == {"id": 2, "type": "ok"}
    assert (tmp_path / "ws/awkward.bin").read_bytes() == AWKWARD + b"end"
    messages, data = client.read_file(3, "awkward.bin")
    assert data == AWKWARD + b"end"
    assert messages[0] == {"id": 3, "type": "file", "kind": "file", "size": len(data), "mode": 0o640}


def test_a_bad_chunk_header_is_an_error_and_its_bytes_are_skipped(client: FrameClient, tmp_path: Path) -> None:
    (tmp_path / "ws/kept.txt").write_text("kept")
    client.send({"type": "chunk", "id": 4, "size": 5, "colour": "red"}, b"\n\n{}\n")
    error, _ = client.recv()
    assert error["type"] == "error" and error["id"] == 4 and "colour" in error["message"]
    _, data = client.read_file(5, "kept.txt")  # the stream is still in step
    assert data == b"kept"


def test_a_chunk_over_the_frame_limit_is_refused_before_anything_is_read(client: FrameClient) -> None:
    client.send({"type": "chunk", "id": 6, "size": MAX_CHUNK_BYTES + 1})
    error, _ = client.recv()
    assert error["type"] == "error" and error["id"] == 6 and str(MAX_CHUNK_BYTES) in error["message"]


def test_an_aborted_write_leaves_the_target_as_it_was(client: FrameClient, tmp_path: Path) -> None:
    (tmp_path / "ws/target.txt").write_text("before")
    client.send({"type": "write_file", "id": 7, "path": "target.txt"})
    client.send({"type": "chunk", "id": 7, "size": 4}, b"half")
    client.send({"type": "chunk", "id": 7, "abort": True})
    assert client.recv()[0] == {"id": 7, "type": "ok"}
    assert (tmp_path / "ws/target.txt").read_text() == "before"
    assert [p.name for p in (tmp_path / "ws").iterdir()] == ["target.txt"]  # no temporary file left


def test_a_chunk_for_no_open_write_is_an_error(client: FrameClient) -> None:
    client.send({"type": "chunk", "id": 8, "size": 2}, b"xy")
    error, _ = client.recv()
    assert error["type"] == "error" and "no open write_file" in error["message"]
