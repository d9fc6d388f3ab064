"""The ``ssh`` runtime: the executor server on another machine, through ``ssh HOST agentexec serve --stdio``.

Choose it to act on a remote machine (a build box, a VM) without opening any port beyond SSH.
The remote host needs agentexec installed; the workspace path is a path on that host. A custom
executor's module that is the user's own code (``ops.py`` next to ``agentexec.toml``, or its
package directory) is shipped to a scratch directory on the host for the run, and the outputs
the executor spills there come back beside the event log at close (see ``ssh_scratch``).
Authentication is ssh's own: keys and ``~/.ssh/config`` apply, and ``BatchMode`` makes a missing
key an error instead of a password prompt.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Optional

from agentexec.errors import ConfigError, RuntimeStartError
from agentexec.events import Action, Observation
from agentexec.runtimes import ssh_scratch
from agentexec.runtimes.base import OutputCallback
from agentexec.runtimes.remote import START_TIMEOUT, RemoteRuntime


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
        ship_code: carry the executor's module to the host when it is the user's own code (not
            installed here); off when the host has it installed already.
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
        ship_code: bool = True,
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
        self.ship_code = ship_code
        self.scratch: Optional[str] = None  # the run's scratch directory on the host, once made
        self._shipped: Optional[Path] = None  # the local code shipped into it

    def where(self) -> str:
        port = f" port {self.port}" if self.port is not None else ""
        return f"ssh runtime (host {self.host}{port})"

    def ssh_command(self, remote_text: str) -> list[str]:
        """The ssh command line that runs ``remote_text`` (shell text) on the host."""
        args = [self.ssh, "-T", "-o", "BatchMode=yes"]
        if self.port is not None:
            args += ["-p", str(self.port)]
        if self.user:
            args += ["-l", self.user]
        if self.identity_file:
            args += ["-i", str(Path(self.identity_file).expanduser())]
        return [*args, *self.ssh_options, self.host, remote_text]

    def command(self, serve_args: list[str]) -> list[str]:
        return self.ssh_command(f"{self.agentexec_command} {shlex.join(serve_args)}")

    def start(self) -> None:
        if self.scratch is None:
            code = self.user_code() if self.ship_code else None
            if code is not None or self._wants_outputs():
                try:
                    self.scratch = ssh_scratch.make_scratch(self.ssh_command, code, START_TIMEOUT)
                except RuntimeStartError as exc:
                    what = f"the executor's module {code}" if code is not None else "a directory for its outputs"
                    raise RuntimeStartError(
                        f"{self.where()}: could not ship {what} there ({exc}); check that ssh reaches the host "
                        "and that it has sh, mktemp and tar"
                    ) from None
                self._shipped = code
        try:
            super().start()
        except BaseException:
            self.close()  # the scratch directory must not outlive a server that never came up
            raise

    def _wants_outputs(self) -> bool:
        """The run gave an output directory here and the user named none on the host."""
        return bool(self.output_dir) and not self.executor_kwargs.get("output_dir")

    def server_import_paths(self) -> list[str]:
        shipped = [f"{self.scratch}/code"] if self.scratch and self._shipped is not None else []
        return list(dict.fromkeys([*self.import_paths, *shipped]))

    def server_output_dir(self) -> Optional[str]:
        if self.scratch and self._wants_outputs():
            return f"{self.scratch}/out"
        return self.output_dir

    def missing_code_hint(self) -> str:
        if self._shipped is not None:
            return (
                f"its module was shipped from {self._shipped}, so something it imports is missing on {self.host}: "
                f"install that there, in the Python that runs {self.agentexec_command!r}"
            )
        return (
            f"the search happened on {self.host}, which does not have the executor's module: install it there, "
            f"or set [runtime] import_paths to its directory on {self.host} (a module that imports here, "
            "next to agentexec.toml, is shipped there by itself)"
        )

    def execute(self, action: Action | dict[str, Any], on_output: Optional[OutputCallback] = None) -> Observation:
        """As for every remote runtime; an observation naming a spilled file on the host says where it
        will be on this machine once the run closes."""
        observation = super().execute(action, on_output)
        out = f"{self.scratch}/out/" if self.scratch and self._wants_outputs() else None
        if out and out in observation.content and self.output_dir:
            local = Path(self.output_dir).expanduser().resolve()
            note = f"files under {out} on {self.host} are copied to {local} when the run closes"
            observation.extras["notes"] = [*observation.extras.get("notes", []), note]
        return observation

    def close(self) -> None:
        """Close the server, then bring the outputs it spilled on the host back and remove the scratch directory."""
        super().close()
        root, self.scratch = self.scratch, None
        if root is None:
            return
        kept = False
        if self._wants_outputs() and self.output_dir:
            local = Path(self.output_dir).expanduser().resolve()
            kept = not ssh_scratch.fetch_outputs(self.ssh_command, root, local, max(self.response_timeout, 30.0))
        if kept:
            ssh_scratch.log.warning("%s: the run's outputs are still on %s in %s/out", self.where(), self.host, root)
        else:
            ssh_scratch.remove_scratch(self.ssh_command, root, START_TIMEOUT)
