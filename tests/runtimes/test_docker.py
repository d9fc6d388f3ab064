"""The ``docker`` runtime: its launcher command always; real containers where a Docker engine runs.

No image registry is reachable in CI, so the image is made locally: ``docker import`` of an empty
tar. The container sees this machine's interpreter, venv and checkout bind-mounted read-only and
has no network (``--network none``). The engine tests skip, saying why, when no daemon runs
(``.ci/run`` starts one).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from agentexec.errors import ClassLoadError, ConfigError, RuntimeFailure
from agentexec.runtimes.docker import DockerRuntime
from tests.helpers import REPO, STREAMING_OPS_MODULE, read_log, run_cli, write_json


def test_run_command_mounts_the_workspace_and_names_the_container(tmp_path: Path) -> None:
    rt = DockerRuntime(workspace=tmp_path, image="agentexec:test", run_args=["--network", "none"])
    command = rt.command(["serve", "--stdio"])
    assert command[:4] == ["docker", "run", "-i", "--rm"]
    assert command[command.index("--name") + 1] == rt.name and rt.name.startswith("agentexec-")
    assert command[command.index("-v") + 1] == f"{tmp_path}:{tmp_path}"
    assert command[command.index("-w") + 1] == str(tmp_path)
    assert command[-6:] == ["--network", "none", "agentexec:test", "agentexec", "serve", "--stdio"]


def test_exec_command_enters_a_running_container(tmp_path: Path) -> None:
    rt = DockerRuntime(workspace=tmp_path, container="box", agentexec_command=["python3", "-m", "agentexec"])
    assert rt.command(["serve", "--stdio"]) == [
        "docker", "exec", "-i", "box", "python3", "-m", "agentexec", "serve", "--stdio",
    ]  # fmt: skip


@pytest.mark.parametrize("options", [{}, {"image": "a", "container": "b"}])
def test_exactly_one_of_image_and_container(tmp_path: Path, options: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="exactly one of"):
        DockerRuntime(workspace=tmp_path, **options)


def test_a_custom_executor_module_beside_the_config_is_mounted_and_importable(tmp_path: Path) -> None:
    (tmp_path / "dk_ops.py").write_text(STREAMING_OPS_MODULE)
    rt = DockerRuntime(workspace=tmp_path / "ws", image="img", executor="dk_ops:OpsExecutor", mount_workspace=False)
    sys.path.insert(0, str(tmp_path))
    try:
        command = rt.command(rt.serve_args())
    finally:
        sys.path.remove(str(tmp_path))
    assert f"{tmp_path / 'dk_ops.py'}:/opt/agentexec-user-code/dk_ops.py:ro" in command
    assert command[command.index("--import-path") + 1] == "/opt/agentexec-user-code"


def test_no_daemon_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "agentexec.toml").write_text('[core]\nruntime = "docker"\n[runtime]\nimage = "agentexec-empty:test"\n')
    write_json(tmp_path / "task.json", {"actions": [{"action": "run", "args": {"command": "true"}}]})
    fake_docker = tmp_path / "docker"  # what the client prints when no daemon listens, without needing one
    fake_docker.write_text(
        "#!/bin/sh\necho 'docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 125\n"
    )
    fake_docker.chmod(0o755)
    result = run_cli("run", "task.json", cwd=tmp_path, env={"AGENTEXEC_RUNTIME_DOCKER": str(fake_docker)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "docker runtime (image agentexec-empty:test)" in result.stderr
    assert "exit status 125" in result.stderr and "Cannot connect to the Docker daemon" in result.stderr


# -- a real daemon -----------------------------------------------------------------------------

IMAGE = "agentexec-empty:test"


def _host_mounts() -> list[str]:
    """Read-only binds of what the server needs: system dirs, the interpreter, the venv, this checkout."""
    wanted = [Path(p) for p in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64")]
    wanted += [Path(sys.base_prefix), Path(sys.prefix), REPO]
    args: list[str] = []
    for path in wanted:
        if path.exists():
            args += ["-v", f"{path.resolve()}:{path}:ro"]
    return args


@pytest.fixture(scope="module")
def docker_options(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH, so no Docker engine to test the docker runtime against")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(f"no Docker engine is running: {(info.stderr.strip().splitlines() or ['docker info failed'])[-1]}")
    empty = tmp_path_factory.mktemp("image") / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    subprocess.run(["docker", "import", str(empty), IMAGE], check=True, capture_output=True, timeout=60)
    return {
        "image": IMAGE,
        "run_args": ["--network", "none", *_host_mounts()],
        "agentexec_command": [sys.executable, "-m", "agentexec"],
    }


def test_actions_stream_and_interrupt_in_a_container(docker_options: dict, tmp_path: Path) -> None:
    rt = DockerRuntime(workspace=tmp_path / "ws", **docker_options)
    rt.start()
    try:
        chunks: list[str] = []
        observation = rt.execute({"action": "run", "args": {"command": "echo one; sleep 0.3; echo two"}}, chunks.append)
        assert observation.content == "one\ntwo\n" and len(chunks) >= 2
        rt.execute({"action": "write", "args": {"path": "f.txt", "content": "from the container"}})
        timer = threading.Timer(0.5, rt.interrupt)
        timer.start()
        assert rt.execute({"action": "run", "args": {"command": "sleep 30"}}).extras["exit_code"] == 130
        timer.join()
        assert rt.execute({"action": "run", "args": {"command": "echo after"}}).content == "after\n"
    finally:
        rt.close()
    assert (tmp_path / "ws" / "f.txt").read_text() == "from the container"


def test_a_killed_container_is_an_error_observation_and_restart_recovers(docker_options: dict, tmp_path: Path) -> None:
    rt = DockerRuntime(workspace=tmp_path / "ws", restart=True, **docker_options)
    rt.start()
    try:
        name = rt.name
        killer = threading.Timer(1.0, lambda: subprocess.run(["docker", "kill", str(name)], capture_output=True))
        killer.start()
        started = time.monotonic()
        dead = rt.execute({"action": "run", "args": {"command": "sleep 60"}})
        killer.join()
        assert dead.is_error and "died while running action 'run'" in dead.content
        assert time.monotonic() - started < 30
        again = rt.execute({"action": "run", "args": {"command": "echo again"}})
        assert again.content == "again\n" and "restarted" in again.extras["notes"][0]
    finally:
        rt.close()
    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"name={name}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def _docker_project(tmp_path: Path, docker_options: dict, mount_workspace: bool) -> Path:
    """A project whose custom executor lives beside its agentexec.toml, run under the docker runtime."""
    (tmp_path / "dk_ops.py").write_text(STREAMING_OPS_MODULE)
    run_args = ", ".join(f'"{arg}"' for arg in docker_options["run_args"])  # type: ignore[union-attr]
    command = ", ".join(f'"{arg}"' for arg in docker_options["agentexec_command"])  # type: ignore[union-attr]
    (tmp_path / "agentexec.toml").write_text(
        '[core]\nruntime = "docker"\nruntime_executor = "dk_ops:OpsExecutor"\n'
        f"[executor]\nmax_output_chars = 200\n"
        f'[runtime]\nimage = "{docker_options["image"]}"\nrun_args = [{run_args}]\n'
        f"agentexec_command = [{command}]\nmount_workspace = {str(mount_workspace).lower()}\n"
    )
    return tmp_path


@pytest.mark.parametrize("mount_workspace", [True, False])
def test_a_custom_executor_runs_and_spilled_output_lands_beside_the_log(
    docker_options: dict, tmp_path: Path, mount_workspace: bool
) -> None:
    project = _docker_project(tmp_path, docker_options, mount_workspace)
    actions = [
        {"action": "run", "args": {"command": "seq 1 5000 > n.txt; seq 1 5000"}},
        {"action": "count_lines", "args": {"path": "n.txt"}},
    ]
    write_json(project / "task.json", {"workspace": "ws", "actions": actions})
    (project / "ws").mkdir(exist_ok=True)
    result = run_cli("run", "task.json", "--log", "run.jsonl", "--json", cwd=project, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    events = read_log(project / "run.jsonl")
    observations = [e for e in events if "observation" in e]
    assert observations[1]["content"] == "5000"
    assert any(e.get("output") == "counting n.txt\n" for e in map(_json, result.stdout.splitlines()))
    spilled = list((project / "run.jsonl.outputs").iterdir())
    assert spilled and "4999\n5000" in spilled[0].read_text()
    assert str(spilled[0]) in observations[0]["content"]


def _json(line: str) -> dict:
    import json

    try:
        return json.loads(line)
    except ValueError:
        return {}


def test_a_start_failure_inside_the_container_is_one_line(docker_options: dict, tmp_path: Path) -> None:
    options = {**docker_options, "agentexec_command": ["/no/such/python"]}
    rt = DockerRuntime(workspace=tmp_path / "ws", **options)
    with pytest.raises(RuntimeFailure) as caught:
        rt.start()
    assert "\n" not in str(caught.value) and "docker runtime (image agentexec-empty:test)" in str(caught.value)


def test_an_executor_the_container_cannot_import_is_one_line_naming_the_image(
    docker_options: dict, tmp_path: Path
) -> None:
    rt = DockerRuntime(workspace=tmp_path / "ws", executor="only_in_another_image:OpsExecutor", **docker_options)
    with pytest.raises(ClassLoadError) as caught:
        rt.start()
    message = str(caught.value)
    assert "\n" not in message and message.startswith("docker runtime (image agentexec-empty:test): ")
    assert "'only_in_another_image' not found" in message
    assert "the search happened in a container of image agentexec-empty:test" in message
