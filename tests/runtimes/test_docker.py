"""The ``docker`` runtime: its launcher command always; real containers where a Docker engine runs.

The engine test uses ``AGENTEXEC_TEST_DOCKER_IMAGE`` (an image with agentexec installed) if set,
else builds one from this checkout on ``python:3.11-slim``; it skips, saying why, when there is
no engine or the image cannot be built (no network to pull the base image, for example).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentexec.errors import ConfigError
from agentexec.runtimes.docker import DockerRuntime
from tests.helpers import REPO


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


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("docker") is None:
        pytest.skip("no docker client on PATH, so no Docker engine to test the docker runtime against")
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(f"no Docker engine is running: {(info.stderr.strip().splitlines() or ['docker info failed'])[-1]}")
    given = os.environ.get("AGENTEXEC_TEST_DOCKER_IMAGE")
    if given:
        yield given
        return
    context = tmp_path_factory.mktemp("docker-context")
    shutil.copytree(REPO / "agentexec", context / "agentexec", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, context / name)
    (context / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY . /src\nRUN pip install --no-cache-dir /src\n")
    tag = "agentexec-test:latest"
    build = subprocess.run(["docker", "build", "-q", "-t", tag, str(context)], capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"could not build a test image: {(build.stderr.strip().splitlines() or ['build failed'])[-1]}")
    yield tag


def test_actions_stream_and_interrupt_in_a_container(image: str, tmp_path: Path) -> None:
    rt = DockerRuntime(workspace=tmp_path / "ws", image=image, run_args=["--network", "none"])
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
    finally:
        rt.close()
    assert (tmp_path / "ws" / "f.txt").read_text() == "from the container"
