"""The ``sandbox`` runtime's confinement, tested with real bubblewrap.

Writes outside the workspace fail, the network is unreachable unless enabled, the workspace is
writable, /tmp is private, and a detached process dies with the sandbox.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentexec
from agentexec.runtimes.sandbox import SandboxRuntime
from tests.helpers import STREAMING_OPS_MODULE, bwrap_unavailable, wait_for_sleepers
from tests.venv_helper import make_venv

pytestmark = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 outside the sandbox; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def run(rt: agentexec.Runtime, command: str) -> agentexec.Observation:
    return rt.execute({"action": "run", "args": {"command": command}})


def connect_command(port: int) -> str:
    return (
        f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); "
        "print('connected')\""
    )


def test_writes_outside_the_workspace_fail_and_the_workspace_is_writable(tmp_path: Path) -> None:
    home_probe = Path.home() / f".agentexec-sandbox-probe-{time.monotonic_ns()}"
    with agentexec.connect(runtime="sandbox", workspace=tmp_path / "ws") as rt:
        denied = run(rt, f"touch {home_probe}; echo x > /etc/agentexec-probe")
        assert denied.content.count("Read-only file system") == 2
        assert not rt.execute(
            {"action": "write", "args": {"path": str(home_probe), "content": "x"}}
        ).content.startswith("wrote")
        assert run(rt, "echo made > inside.txt && cat inside.txt").content == "made\n"
        written = rt.execute({"action": "write", "args": {"path": "sub/file.txt", "content": "hello"}})
        assert not written.is_error
    assert not home_probe.exists()
    assert (tmp_path / "ws" / "inside.txt").read_text() == "made\n"
    assert (tmp_path / "ws" / "sub" / "file.txt").read_text() == "hello"


def test_tmp_is_private(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    with agentexec.connect(runtime="sandbox", workspace=tmp_path / "ws") as rt:
        assert run(rt, f"cat {outside}/secret.txt").extras["exit_code"] != 0
        assert run(rt, "echo scratch > /tmp/scratch.txt && cat /tmp/scratch.txt").content == "scratch\n"
    assert not (Path("/tmp") / "scratch.txt").exists() or (Path("/tmp") / "scratch.txt").read_text() != "scratch\n"


def test_network_is_unreachable_by_default(tmp_path: Path, listener: int) -> None:
    with agentexec.connect(runtime="sandbox", workspace=tmp_path / "ws") as rt:
        refused = run(rt, connect_command(listener))
    assert refused.extras["exit_code"] != 0 and "connected" not in refused.content
    assert "unreachable" in refused.content or "refused" in refused.content


def test_network_true_keeps_the_hosts_network(tmp_path: Path, listener: int) -> None:
    rt = SandboxRuntime(workspace=tmp_path / "ws", network=True)
    rt.start()
    try:
        assert run(rt, connect_command(listener)).content == "connected\n"
    finally:
        rt.close()


def test_extra_binds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "input.txt").write_text("read me")
    out = tmp_path / "out"
    out.mkdir()
    rt = SandboxRuntime(workspace=tmp_path / "ws", ro_binds=[f"{data}:/tmp/data"], rw_binds=[str(out)])
    rt.start()
    try:
        assert run(rt, "cat /tmp/data/input.txt").content == "read me"
        assert "Read-only" in run(rt, "touch /tmp/data/x").content
        assert run(rt, f"echo result > {out}/r.txt").extras["exit_code"] == 0
    finally:
        rt.close()
    assert (out / "r.txt").read_text() == "result\n"


def test_the_executors_output_dir_is_writable(tmp_path: Path) -> None:
    spill = Path.home() / f".agentexec-spill-probe-{time.monotonic_ns()}"
    rt = SandboxRuntime(workspace=tmp_path / "ws", executor_kwargs={"output_dir": str(spill), "max_output_chars": 100})
    rt.start()
    try:
        big = run(rt, "seq 1 5000")
        assert big.extras["exit_code"] == 0 and big.extras["output_path"].startswith(str(spill))
        assert Path(big.extras["output_path"]).read_text().endswith("5000\n")
    finally:
        rt.close()
        shutil.rmtree(spill, ignore_errors=True)


def test_a_detached_process_dies_with_the_sandbox(tmp_path: Path) -> None:
    marker = f"{time.monotonic_ns() % 100000}.25"
    with agentexec.connect(runtime="sandbox", workspace=tmp_path / "ws") as rt:
        run(rt, f"(setsid nohup sleep {marker} >/dev/null 2>&1 &)")
        assert wait_for_sleepers(marker, running=True)
    assert wait_for_sleepers(marker, running=False)


def test_a_killed_sandbox_server_is_reported_and_restarted(tmp_path: Path) -> None:
    rt = SandboxRuntime(workspace=tmp_path / "ws", restart=True)
    rt.start()
    try:
        dead = run(rt, "kill -9 $PPID")
        assert dead.is_error and "died while running action 'run'" in dead.content
        assert run(rt, "echo again").content == "again\n"
    finally:
        rt.close()


def test_a_venv_under_tmp_and_a_module_there_are_visible_inside(tmp_path: Path) -> None:
    """The private /tmp would hide both; the runtime binds them back read-only."""
    venv = tmp_path / "venv"
    make_venv(venv)
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "venv_ops.py").write_text(STREAMING_OPS_MODULE)
    script = textwrap.dedent(
        f"""
        import sys, agentexec
        workspace = {str(tmp_path / "ws")!r}
        with agentexec.connect(runtime="sandbox", executor="venv_ops:OpsExecutor", workspace=workspace) as rt:
            rt.execute({{"action": "write", "args": {{"path": "f.txt", "content": "a\\nb\\n"}}}})
            print(rt.execute({{"action": "count_lines", "args": {{"path": "f.txt"}}}}).content)
            print(rt.execute({{"action": "run", "args": {{"command": "touch {venv}/x"}}}}).content)
        """
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], cwd=tmp_path / "mods", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2" and "Read-only file system" in lines[1]
