"""The ``ssh`` runtime against a real sshd that the test starts on 127.0.0.1 with throwaway keys."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agentexec.errors import ConfigError, RuntimeFailure
from agentexec.runtimes.ssh import SSHRuntime
from tests.helpers import read_log, run_cli, write_json

SSHD = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if Path(p).exists()), None)


@dataclass
class Sshd:
    port: int
    identity: Path
    options: list[str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if SSHD is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH (sshd, ssh, ssh-keygen) is not installed; apt-get install openssh-server openssh-client")
    root = tmp_path_factory.mktemp("sshd")
    os.chmod(root, 0o700)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    port = _free_port()
    config = root / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    daemon = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE, text=True)
    options = [
        "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={root / 'known_hosts'}", "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        probe = subprocess.run(
            ["ssh", "-T", "-o", "BatchMode=yes", "-p", str(port), "-i", str(root / "client_key"), *options,
             f"{getpass.getuser()}@127.0.0.1", "true"],
            capture_output=True, text=True,
        )  # fmt: skip
        if probe.returncode == 0:
            break
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            reason = (daemon.communicate()[1] or probe.stderr).strip().splitlines()
            pytest.skip(f"could not start a test sshd on 127.0.0.1: {reason[-1] if reason else 'no output'}")
        time.sleep(0.1)
    yield Sshd(port=port, identity=root / "client_key", options=options)
    daemon.terminate()
    daemon.wait(timeout=10)


def _runtime(sshd: Sshd, workspace: Path, **options: object) -> SSHRuntime:
    return SSHRuntime(
        workspace=workspace,
        host=f"{getpass.getuser()}@127.0.0.1",
        port=sshd.port,
        identity_file=str(sshd.identity),
        ssh_options=sshd.options,
        agentexec_command=f"{sys.executable} -m agentexec",
        **options,  # type: ignore[arg-type]
    )


def test_actions_stream_and_interrupt_over_ssh(sshd: Sshd, tmp_path: Path) -> None:
    rt = _runtime(sshd, tmp_path / "remote ws", env={"GREETING": "over ssh"})
    rt.start()
    try:
        chunks: list[str] = []
        observation = rt.execute(
            {"action": "run", "args": {"command": "echo $GREETING; sleep 0.3; pwd"}}, chunks.append
        )
        assert observation.content == f"over ssh\n{tmp_path / 'remote ws'}\n" and len(chunks) >= 2
        assert not rt.execute({"action": "write", "args": {"path": "f.txt", "content": "x"}}).is_error
        assert (tmp_path / "remote ws" / "f.txt").read_text() == "x"
        rt_interrupt = threading.Timer(0.5, rt.interrupt)
        rt_interrupt.start()
        stopped = rt.execute({"action": "run", "args": {"command": "sleep 30"}})
        rt_interrupt.join()
        assert stopped.extras["exit_code"] == 130
        assert {"run", "read"} <= {schema["name"] for schema in rt.action_schemas()}
    finally:
        rt.close()


def test_a_custom_executor_over_ssh_via_import_paths(sshd: Sshd, tmp_path: Path) -> None:
    from tests.helpers import STREAMING_OPS_MODULE as OPS_MODULE

    (tmp_path / "ssh_ops.py").write_text(OPS_MODULE)
    rt = _runtime(sshd, tmp_path / "ws", import_paths=[str(tmp_path)])
    rt.executor_path = "ssh_ops:OpsExecutor"
    rt.start()
    try:
        rt.execute({"action": "write", "args": {"path": "n.txt", "content": "1\n2\n3\n4\n"}})
        assert rt.execute({"action": "count_lines", "args": {"path": "n.txt"}}).content == "4"
    finally:
        rt.close()


def test_an_unreachable_host_fails_with_sshs_own_message(tmp_path: Path) -> None:
    rt = SSHRuntime(workspace=tmp_path, host="127.0.0.1", port=1, ssh_options=["-o", "ConnectTimeout=5"])
    with pytest.raises(RuntimeFailure, match="exited during start-up") as caught:
        rt.start()
    assert "Connection refused" in str(caught.value)
    assert "\n" not in str(caught.value) and "host 127.0.0.1 port 1" in str(caught.value)


def test_a_closed_port_is_one_line_and_exit_2_from_the_cli(tmp_path: Path) -> None:
    (tmp_path / "agentexec.toml").write_text(
        '[core]\nruntime = "ssh"\n[runtime]\nhost = "127.0.0.1"\nport = 1\nssh_options = ["-o", "ConnectTimeout=5"]\n'
    )
    write_json(tmp_path / "task.json", {"actions": [{"action": "run", "args": {"command": "true"}}]})
    result = run_cli("run", "task.json", "--log", "run.jsonl", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "ssh runtime (host 127.0.0.1 port 1)" in result.stderr and "Connection refused" in result.stderr


def test_the_host_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="host"):
        SSHRuntime(workspace=tmp_path)


def test_a_task_carries_its_files_over_ssh(sshd: Sshd, tmp_path: Path) -> None:
    """The task file's uploads and downloads cross the ssh boundary as they do on every runtime."""
    (tmp_path / "agentexec.toml").write_text(
        f'[core]\nruntime = "ssh"\n[runtime]\nhost = "{getpass.getuser()}@127.0.0.1"\nport = {sshd.port}\n'
        f'identity_file = "{sshd.identity}"\nssh_options = {json.dumps(sshd.options)}\n'
        f'agentexec_command = "{sys.executable} -m agentexec"\n'
    )
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures/input.txt").write_text("carried\n")
    (tmp_path / "ws").mkdir()
    task = {
        "workspace": "ws",
        "upload": ["fixtures"],
        "download": ["out"],
        "actions": [{"action": "run", "args": {"command": "mkdir out && tr a-z A-Z < fixtures/input.txt > out/r"}}],
    }
    write_json(tmp_path / "task.json", task)
    result = run_cli("run", "task.json", "--log", "run.jsonl", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "run.jsonl.outputs/out/r").read_text() == "CARRIED\n"


WHERE_OPS = textwrap.dedent(
    '''
    from agentexec.executors import ActionExecutor, action

    class OpsExecutor(ActionExecutor):
        @action
        def module_file(self) -> str:
            """Where this executor's module was imported from."""
            return __file__
    '''
)


def _ssh_project(root: Path, sshd: Sshd, executor: str) -> Path:
    """A project whose agentexec.toml runs ``executor`` over ssh, with outputs spilled past 200 characters."""
    project = root / "project"
    (project / "ws").mkdir(parents=True)
    options = ", ".join(f'"{option}"' for option in sshd.options)
    (project / "agentexec.toml").write_text(
        f'[core]\nruntime = "ssh"\nruntime_executor = "{executor}"\n'
        "[executor]\nmax_output_chars = 200\n"
        f'[runtime]\nhost = "{getpass.getuser()}@127.0.0.1"\nport = {sshd.port}\n'
        f'identity_file = "{sshd.identity}"\nssh_options = [{options}]\n'
        f'agentexec_command = "{sys.executable} -m agentexec"\n'
    )
    return project


@pytest.mark.parametrize("layout", ["module", "package"])
def test_a_custom_executor_beside_the_config_is_shipped_and_spilled_output_comes_back(
    sshd: Sshd, tmp_path: Path, layout: str
) -> None:
    executor = "ssh_ops:OpsExecutor" if layout == "module" else "ssh_pkg.ops:OpsExecutor"
    project = _ssh_project(tmp_path, sshd, executor)
    if layout == "module":
        (project / "ssh_ops.py").write_text(WHERE_OPS)
    else:
        (project / "ssh_pkg").mkdir()
        (project / "ssh_pkg" / "__init__.py").write_text("")
        (project / "ssh_pkg" / "ops.py").write_text(WHERE_OPS)
    actions = [{"action": "module_file", "args": {}}, {"action": "run", "args": {"command": "seq 1 5000"}}]
    write_json(project / "task.json", {"workspace": "ws", "actions": actions})
    result = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    observations = [event for event in read_log(project / "run.jsonl") if "observation" in event]
    module_file = Path(observations[0]["content"])
    assert (
        not module_file.is_relative_to(project)
        and module_file.name == f"{'ssh_ops' if layout == 'module' else 'ops'}.py"
    )
    assert not module_file.exists(), "the host's scratch directory is removed at close"
    spilled = list((project / "run.jsonl.outputs").iterdir())
    assert len(spilled) == 1 and "4999\n5000" in spilled[0].read_text()
    assert any(str(project / "run.jsonl.outputs") in note for note in observations[1]["extras"]["notes"])


def test_spilled_output_comes_back_when_the_run_is_stopped_with_sigterm(sshd: Sshd, tmp_path: Path) -> None:
    project = _ssh_project(tmp_path, sshd, "agentexec.executors:ActionExecutor")
    actions = [
        {"action": "run", "args": {"command": "seq 1 5000"}},
        {"action": "run", "args": {"command": "sleep 60", "timeout": 120}},
    ]
    write_json(project / "task.json", {"workspace": "ws", "actions": actions})
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    run = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", "task.json", "--log", "run.jsonl"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    log = project / "run.jsonl"
    while not (log.exists() and sum('"observation"' in line for line in log.read_text().splitlines()) >= 1):
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.1)
    time.sleep(0.5)  # the sleep is running on the host
    run.terminate()
    run.communicate(timeout=60)
    assert run.returncode in (130, 143)
    spilled = list((project / "run.jsonl.outputs").iterdir())
    assert len(spilled) == 1 and "4999\n5000" in spilled[0].read_text()


def test_an_executor_the_host_cannot_import_is_one_line_naming_the_host(sshd: Sshd, tmp_path: Path) -> None:
    project = _ssh_project(tmp_path, sshd, "only_on_a_build_box:OpsExecutor")
    write_json(project / "task.json", {"workspace": "ws", "actions": [{"action": "run", "args": {"command": "true"}}]})
    result = run_cli("run", "task.json", "--log", "run.jsonl", cwd=project, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert f"ssh runtime (host {getpass.getuser()}@127.0.0.1 port {sshd.port})" in message
    assert "does not load there" in message and "'only_on_a_build_box' not found" in message
    assert "[runtime] import_paths" in message and f"on {getpass.getuser()}@127.0.0.1" in message
