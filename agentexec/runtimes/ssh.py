"""The ``ssh`` runtime: the executor server on another machine, through ``ssh HOST agentexec serve --stdio``.

Choose it to act on a remote machine (a build box, a VM) without opening any port beyond SSH.
The remote host needs agentexec (and any custom executor's module) installed; the workspace path
is a path on that host. Authentication is ssh's own: keys and ``~/.ssh/config`` apply, and
``BatchMode`` makes a missing key an error instead of a password prompt.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import ConfigError
from agentexec.runtimes.remote import RemoteRuntime


class SSHRuntime(RemoteRuntime):
    """Runs ``agentexec serve --stdio`` on ``host`` over ssh.

    Args:
        host: the remote host, as ssh accepts it (``user@host`` or a ``~/.ssh/config`` alias).
        port: SSH port, if not the default.
        user: remote user, if not in ``host``.
        identity_file: private key to authenticate with.
        ssh: the ssh client executable.
        ssh_options: extra ssh arguments, e.g. ``["-o", "StrictHostKeyChecking=accept-new"]``.
        agentexec_command: remote shell text that starts agentexec, e.g. ``~/venv/bin/agentexec``.
        restart, response_timeout, import_paths: as for every remote runtime (``RemoteRuntime``);
            import paths are paths on the remote host.
    """

    def __init__(
        self,
        *,
        host: str = "",
        port: Optional[int] = None,
        user: Optional[str] = None,
        identity_file: Optional[str] = None,
        ssh: str = "ssh",
        ssh_options: Optional[list[str]] = None,
        agentexec_command: str = "agentexec",
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if not host:
            raise ConfigError('the ssh runtime needs [runtime] host = "user@host" (or an ~/.ssh/config alias)')
        self.host = host
        self.port = port
        self.user = user
        self.identity_file = identity_file
        self.ssh = ssh
        self.ssh_options = list(ssh_options or [])
        self.agentexec_command = agentexec_command

    def where(self) -> str:
        port = f" port {self.port}" if self.port is not None else ""
        return f"ssh runtime (host {self.host}{port})"

    def command(self, serve_args: list[str]) -> list[str]:
        args = [self.ssh, "-T", "-o", "BatchMode=yes"]
        if self.port is not None:
            args += ["-p", str(self.port)]
        if self.user:
            args += ["-l", self.user]
        if self.identity_file:
            args += ["-i", str(Path(self.identity_file).expanduser())]
        return [*args, *self.ssh_options, self.host, f"{self.agentexec_command} {shlex.join(serve_args)}"]
