"""``rt.read_file``, ``rt.write_file``, ``rt.upload`` and ``rt.download`` through ``agentexec.connect``.

Each test runs once per runtime (``local`` in this process, ``process`` and ``sandbox`` over the
stdio protocol) and asserts the same thing: bytes arrive exactly, directories keep their shape
and modes, errors keep their kind (a ``FileNotFoundError`` stays one) and name the path, a read
over its limit is an error rather than a cut, and a large transfer streams: neither side's memory
grows with the file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import agentexec
from agentexec.errors import FileTooLarge, FileTransferError
from agentexec.runtimes.base import Runtime
from tests.helpers import REPO, bwrap_unavailable

needs_bwrap = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
RUNTIMES = ["local", "process", pytest.param("sandbox", marks=needs_bwrap)]
REMOTE = ["process", pytest.param("sandbox", marks=needs_bwrap)]
EVERY_BYTE = bytes(range(256)) * 1000


@pytest.fixture(scope="module", params=RUNTIMES)
def rt(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One runtime per kind for the module (each test uses paths of its own): starting one costs seconds."""
    runtime = agentexec.connect(runtime=request.param, workspace=tmp_path_factory.mktemp("ws"))
    yield runtime
    runtime.close()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bytes_written_are_read_back_exactly(rt: Runtime) -> None:
    rt.write_file("deep/er/blob.bin", EVERY_BYTE)
    assert (rt.workspace / "deep/er/blob.bin").read_bytes() == EVERY_BYTE
    assert rt.read_file("deep/er/blob.bin") == EVERY_BYTE
    rt.write_file("empty", b"")
    assert rt.read_file("empty") == b""


def test_a_written_file_gets_the_mode_asked_for_and_an_existing_one_keeps_its_own(rt: Runtime) -> None:
    rt.write_file("tool.sh", b"#!/bin/sh\necho hi\n", mode=0o750)
    assert mode_of(rt.workspace / "tool.sh") == 0o750
    (rt.workspace / "kept.txt").write_text("old")
    os.chmod(rt.workspace / "kept.txt", 0o640)
    rt.write_file("kept.txt", b"new")
    assert (rt.workspace / "kept.txt").read_text() == "new" and mode_of(rt.workspace / "kept.txt") == 0o640


def test_a_file_uploads_and_downloads_with_its_mode(rt: Runtime, tmp_path: Path) -> None:
    local = tmp_path / "run.sh"
    local.write_bytes(EVERY_BYTE)
    os.chmod(local, 0o751)
    rt.upload(local, "bin/run.sh")
    assert (rt.workspace / "bin/run.sh").read_bytes() == EVERY_BYTE and mode_of(rt.workspace / "bin/run.sh") == 0o751
    rt.download("bin/run.sh", tmp_path / "back/run.sh")
    assert (tmp_path / "back/run.sh").read_bytes() == EVERY_BYTE and mode_of(tmp_path / "back/run.sh") == 0o751


def test_a_directory_uploads_and_downloads_with_its_shape_modes_and_links(rt: Runtime, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "src/pkg").mkdir(parents=True)
    (tree / "src/pkg/mod.py").write_text("x = 1\n")
    (tree / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tree / "run.sh", 0o755)
    (tree / "secret").write_text("s")
    os.chmod(tree / "secret", 0o600)
    (tree / "empty-dir").mkdir()
    (tree / "link").symlink_to("src/pkg/mod.py")
    rt.upload(tree, "project")
    inside = rt.workspace / "project"
    assert (inside / "src/pkg/mod.py").read_text() == "x = 1\n"
    assert mode_of(inside / "run.sh") == 0o755 and mode_of(inside / "secret") == 0o600
    assert (inside / "empty-dir").is_dir() and os.readlink(inside / "link") == "src/pkg/mod.py"
    (inside / "made-there.txt").write_text("result")
    rt.download("project", tmp_path / "back")
    back = tmp_path / "back"
    assert (back / "made-there.txt").read_text() == "result" and (back / "src/pkg/mod.py").read_text() == "x = 1\n"
    assert mode_of(back / "run.sh") == 0o755 and mode_of(back / "secret") == 0o600
    assert os.readlink(back / "link") == "src/pkg/mod.py"


def test_a_missing_path_is_file_not_found_naming_it(rt: Runtime, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such.bin") as read:
        rt.read_file("no-such.bin")
    assert isinstance(read.value, FileTransferError)
    with pytest.raises(FileNotFoundError, match="absent-result"):
        rt.download("absent-result", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(FileNotFoundError, match="not-here-locally"):
        rt.upload(tmp_path / "not-here-locally", "x")


def test_a_directory_read_as_a_file_is_is_a_directory(rt: Runtime) -> None:
    (rt.workspace / "folder").mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        rt.read_file("folder")
    with pytest.raises(IsADirectoryError, match="folder"):
        rt.write_file("folder", b"x")


def test_a_read_only_file_is_refused_and_left_as_it_was(rt: Runtime, tmp_path: Path) -> None:
    target = rt.workspace / "frozen.txt"
    target.write_text("original")
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError, match="frozen.txt"):
        rt.write_file("frozen.txt", b"replaced")
    local = tmp_path / "new.txt"
    local.write_text("replaced")
    with pytest.raises(PermissionError, match="frozen.txt"):
        rt.upload(local, "frozen.txt")
    assert target.read_text() == "original"


def test_a_file_under_a_file_is_not_a_directory(rt: Runtime) -> None:
    (rt.workspace / "plain").write_text("x")
    with pytest.raises(NotADirectoryError, match="plain"):
        rt.read_file("plain/inner")


def test_the_size_limit_is_an_error_not_a_cut(rt: Runtime) -> None:
    rt.write_file("big.bin", b"x" * 5000)
    with pytest.raises(FileTooLarge, match="big.bin") as over:
        rt.read_file("big.bin", limit=4999)
    assert "5000" in str(over.value) and "4999" in str(over.value)
    assert rt.read_file("big.bin", limit=5000) == b"x" * 5000


@pytest.mark.parametrize("runtime", [pytest.param("sandbox", marks=needs_bwrap)])
def test_the_sandbox_refuses_writes_outside_its_workspace_as_permission_denied(runtime: str, tmp_path: Path) -> None:
    """The host's system is read-only in there (its /tmp is private, so the probe goes to /usr)."""
    outside = Path("/usr") / f"agentexec-probe-{os.getpid()}.txt"
    with agentexec.connect(runtime=runtime, workspace=tmp_path / "ws") as rt:
        with pytest.raises(PermissionError, match=outside.name):
            rt.write_file(str(outside), b"escaped")
    assert not outside.exists()


MEMORY_PROBE = textwrap.dedent(
    """
    import json, os, resource, sys
    from pathlib import Path
    import agentexec

    runtime, workspace, big = sys.argv[1], sys.argv[2], Path(sys.argv[3])

    def server_pids(root):
        # the launcher's descendants that run the protocol server (bwrap and a cgroup launcher sit between)
        found, todo = [], [root]
        while todo:
            pid = todo.pop()
            for task in Path(f"/proc/{pid}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(child) for child in children]
            if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        return found

    def status(pid, key):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        raise KeyError(key)

    with agentexec.connect(runtime=runtime, workspace=workspace) as rt:
        rt.write_file("warm", b"x" * (1 << 20))
        rt.read_file("warm")
        server = server_pids(rt.connection.process.pid)[-1]
        client_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        server_before = status(server, "VmRSS")
        rt.upload(big, "big.bin")
        rt.download("big.bin", big.with_suffix(".back"))
        print(json.dumps({
            "client": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - client_before,
            "server": status(server, "VmHWM") - server_before,
        }))
    """
)


@pytest.mark.parametrize("runtime", REMOTE)
def test_a_large_transfer_streams_with_bounded_memory_on_both_sides(runtime: str, tmp_path: Path) -> None:
    """A 160 MB file up and down adds well under its size to either process's peak memory."""
    big = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    with big.open("wb") as stream:
        for _ in range(160):
            stream.write(block)
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, runtime, str(tmp_path / "ws"), str(big)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert probe.returncode == 0, probe.stderr
    added = json.loads(probe.stdout.splitlines()[-1])
    assert added["client"] < 64 and added["server"] < 64, added
    assert big.with_suffix(".back").read_bytes() == big.read_bytes()


@pytest.mark.parametrize("runtime", REMOTE)
def test_an_upload_and_a_download_side_by_side_both_complete(runtime: str, tmp_path: Path) -> None:
    """Two threads on one connection: frames of both directions interleave without either waiting forever."""
    block = os.urandom(1 << 20)
    (tmp_path / "up.bin").write_bytes(block * 24)
    with agentexec.connect(runtime=runtime, workspace=tmp_path / "ws") as rt:
        rt.write_file("down.bin", block[::-1] * 24)
        failures: list[BaseException] = []

        def guarded(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                    failures.append(exc)

            return run

        threads = [
            threading.Thread(target=guarded(lambda: rt.upload(tmp_path / "up.bin", "up.bin"))),
            threading.Thread(target=guarded(lambda: rt.download("down.bin", tmp_path / "down.bin"))),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads) and not failures, failures
    assert (tmp_path / "ws/up.bin").read_bytes() == block * 24
    assert (tmp_path / "down.bin").read_bytes() == block[::-1] * 24
