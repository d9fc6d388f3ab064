"""The ``docker`` runtime: the executor server inside a container, through ``docker run -i``.

Choose it for a reproducible toolchain or stronger isolation than ``sandbox``. The image must have
agentexec installed; the workspace is bind-mounted at the same path, so observations name the
paths you see on the host. A custom executor's module that is not installed (``ops.py`` next to
``agentexec.toml``) is carried in: its directory is bind-mounted read-only at the same path and
made importable, with or without the workspace mount. The executor's ``output_dir`` (spilled
output, beside the event log under ``agentexec run``) is bind-mounted writable, so what the
executor writes there lands on the host. With ``container`` set, the server is started in that
already running container with ``docker exec -i`` instead (nothing is mounted then).
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import ConfigError
from agentexec.runtimes.remote import RemoteRuntime

#: Where the user's executor module is mounted in the container, apart from the workspace.
CODE_DIR = "/opt/agentexec-user-code"


class DockerRuntime(RemoteRuntime):
    """Runs ``agentexec serve --stdio`` in a container.

    Args:
        image: image to ``docker run`` (agentexec installed in it).
        container: name of a running container to ``docker exec`` into instead.
        docker: the docker (or podman) executable.
        run_args: extra ``docker run``/``docker exec`` arguments, e.g. ``["--network", "none"]``.
        agentexec_command: how to start agentexec inside the container.
        mount_workspace: bind-mount the workspace into the container at the same path (``run`` only).
        restart, response_timeout, import_paths: as for every remote runtime (``RemoteRuntime``).
    """

    def __init__(
        self,
        *,
        image: Optional[str] = None,
        container: Optional[str] = None,
        docker: str = "docker",
        run_args: Optional[list[str]] = None,
        agentexec_command: Optional[list[str]] = None,
        mount_workspace: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if bool(image) == bool(container):
            raise ConfigError("the docker runtime needs exactly one of [runtime] image = ... or container = ...")
        self.image = image
        self.container = container
        self.docker = docker
        self.run_args = list(run_args or [])
        self.agentexec_command = list(agentexec_command or ["agentexec"])
        self.mount_workspace = mount_workspace
        self.name: Optional[str] = None

    def where(self) -> str:
        target = f"container {self.container}" if self.container else f"image {self.image}"
        return f"docker runtime ({target})"

    def command(self, serve_args: list[str]) -> list[str]:
        if self.container:
            return [self.docker, "exec", "-i", *self.run_args, self.container, *self.agentexec_command, *serve_args]
        self.name = f"agentexec-{secrets.token_hex(4)}"
        mount = ["-v", f"{self.workspace}:{self.workspace}"] if self.mount_workspace else []
        module = self.user_code()
        if module is not None:
            mount += ["-v", f"{module}:{CODE_DIR}/{module.name}:ro"]
        output_dir = self.executor_kwargs.get("output_dir") or self.output_dir  # the user's, else the run's
        if output_dir:
            spill = Path(output_dir).expanduser().resolve()
            spill.mkdir(parents=True, exist_ok=True)
            mount += ["-v", f"{spill}:{spill}"]
        return [
            self.docker, "run", "-i", "--rm", "--name", self.name, *mount, "-w", str(self.workspace),
            *self.run_args, str(self.image), *self.agentexec_command, *serve_args,
        ]  # fmt: skip

    def server_import_paths(self) -> list[str]:
        extra = [CODE_DIR] if self.image and self.user_code() is not None else []
        return list(dict.fromkeys([*self.import_paths, *extra]))

    def missing_code_hint(self) -> str:
        inside = f"container {self.container}" if self.container else f"a container of image {self.image}"
        if self.image and self.user_code() is not None:
            return f"its module was mounted from {self.user_code()}, so something it imports is missing in {inside}"
        return (
            f"the search happened in {inside}, which does not have the executor's module: install it in the image, "
            "or mount its directory with run_args and name it in [runtime] import_paths"
        )

    def after_kill(self) -> None:
        """Killing the ``docker run`` client does not stop its container; remove it."""
        if self.name is not None:
            subprocess.run([self.docker, "rm", "-f", self.name], capture_output=True, timeout=30, check=False)
