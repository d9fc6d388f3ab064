"""The ``sandbox`` runtime: the ``process`` server confined by bubblewrap (``bwrap``).

Inside, the whole host is visible read-only; the workspace (and the executor's ``output_dir``, if
set) is the only writable place besides a private ``/tmp``; ``/proc`` and ``/dev`` are the
sandbox's own; the network is unshared unless ``network = true``; and the sandbox dies with this
process. Started by root, it drops every capability (``--cap-drop ALL``): uid 0 inside can
neither mount nor override file permissions. Its own PID namespace means closing it kills every
process the agent started, however it was detached.

With ``overlay = true`` the system directories get an ephemeral writable layer instead
(``sandbox_overlay``): a task may install packages or add users, root inside keeps only the
capabilities that needs (never ``sys_admin``: no mounts), and every change vanishes with the
sandbox. Started by a user other than root, the sandbox then maps that user to root inside.

The private ``/tmp`` would hide anything the server needs that lives there: a virtualenv under
``/tmp``, an editable checkout, the user's executor module. Every such path on ``sys.path`` (and
the agentexec package, the interpreter's prefixes and the import paths) is bound back read-only.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

import agentexec
from agentexec.errors import RuntimeFailure
from agentexec.runtimes import sandbox_policy
from agentexec.runtimes.cgroup import Limits
from agentexec.runtimes.process import ProcessRuntime
from agentexec.secrets import DEFAULT_SECRET_ENV

#: Where the sandbox mounts a fresh, empty filesystem over the host's.
PRIVATE = (Path("/tmp"), Path("/dev"), Path("/proc"))


class SandboxRuntime(ProcessRuntime):
    """Runs the executor server under bubblewrap.

    Args:
        network: keep the host's network (default: none, not even loopback to the host).
        ro_binds: extra host paths made visible read-only (``SRC`` or ``SRC:DEST``; a DEST must
            exist on the host or lie under /tmp, since the rest of the view is read-only).
        rw_binds: extra host paths made writable (``SRC`` or ``SRC:DEST``, same rule).
        bwrap: the bubblewrap executable.
        pids_limit: most processes (and threads) alive in the sandbox at once, through a cgroup
            (default 1024; 0 for none).
        memory_limit: most memory the sandbox's processes use together, e.g. ``"512M"`` (default 4G; 0 for none).
        overlay: give the system directories (/etc, /usr, /var ...) an ephemeral writable layer, for
            tasks that install packages or add users; changes vanish when the sandbox closes.
        restart, response_timeout, import_paths: as for every remote runtime (``RemoteRuntime``).
    """

    def __init__(
        self,
        *,
        network: bool = False,
        ro_binds: Optional[list[str]] = None,
        rw_binds: Optional[list[str]] = None,
        bwrap: str = "bwrap",
        pids_limit: Optional[int] = None,
        memory_limit: Optional[int | str] = None,
        overlay: bool = False,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.network = network
        self.ro_binds = [_bind(spec) for spec in ro_binds or []]
        self.rw_binds = [_bind(spec) for spec in rw_binds or []]
        self.bwrap = bwrap
        self.overlay = bool(overlay)
        sandbox_policy.check_limits(pids_limit, memory_limit)
        self.pids_limit = pids_limit
        self.memory_limit = memory_limit
        self.limits: Optional[Limits] = None
        sandbox_policy.confine_by_default(self.executor_path, self.executor_kwargs)

    def command(self, serve_args: list[str]) -> list[str]:
        bwrap = shutil.which(self.bwrap)
        if bwrap is None:
            raise RuntimeFailure(
                f"the sandbox runtime needs bubblewrap, but {self.bwrap!r} is not on PATH; "
                "install it (apt-get install bubblewrap, dnf install bubblewrap)"
            )
        self.workspace.mkdir(parents=True, exist_ok=True)
        args = self.bwrap_args(serve_args)
        server = self._overlay_launcher(args, serve_args) if self.overlay else super().command(serve_args)
        command = [bwrap, *args, "--", *server]
        if self.limits is None:
            self.limits = sandbox_policy.create_limits(self.pids_limit, self.memory_limit)
        return command if self.limits is None else self.limits.launcher(command)

    def close(self) -> None:
        super().close()
        limits, self.limits = self.limits, None
        if limits is not None:
            limits.release()

    def bwrap_args(self, serve_args: list[str]) -> list[str]:
        """The bubblewrap options: read-only host, private /tmp /dev /proc, writable workspace."""
        args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
        if self.overlay:  # the launcher mounts the overlay, then keeps only what packages and users need
            if os.geteuid() != 0:
                args += ["--unshare-user", "--uid", "0", "--gid", "0", "--cap-add", "ALL"]
        elif os.geteuid() == 0:  # started by root: the agent's processes get none of root's capabilities
            args += ["--cap-drop", "ALL"]
        if not self.network:
            args.append("--unshare-net")
        args += sandbox_policy.unset_secrets(os.environ, self._secret_patterns(), self.env)
        writable = [(self.workspace, self.workspace), *self.rw_binds]
        output_dir = self.executor_kwargs.get("output_dir") or self.output_dir
        if output_dir:  # where the executor spills big outputs (beside the event log under agentexec run)
            spill = Path(output_dir).expanduser().resolve()
            spill.mkdir(parents=True, exist_ok=True)
            writable.append((spill, spill))
        for path in _hidden_needs(self.server_import_paths(), [dest for _, dest in writable]):
            args += ["--ro-bind", str(path), str(path)]
        for src, dest in self.ro_binds:
            args += ["--ro-bind", str(src), str(dest)]
        for src, dest in writable:
            args += ["--bind", str(src), str(dest)]
        return [*args, "--chdir", str(self.workspace)]

    def _overlay_launcher(self, args: list[str], serve_args: list[str]) -> list[str]:
        """With ``overlay``: the server, started by what mounts the overlay (told which bind mounts to
        carry over it) and drops capabilities first."""
        binds = [args[i + 2] for i, arg in enumerate(args) if arg in ("--bind", "--ro-bind") and args[i + 2] != "/"]
        return [sys.executable, "-m", "agentexec.runtimes.sandbox_overlay", *dict.fromkeys(binds), "--", *serve_args]

    def _secret_patterns(self) -> list[str]:
        patterns = sandbox_policy.secret_patterns(self.config)
        return list(DEFAULT_SECRET_ENV) if patterns is None else patterns


def _bind(spec: str) -> tuple[Path, Path]:
    src, _, dest = str(spec).partition(":")
    source = Path(src).expanduser().resolve()
    return source, Path(dest) if dest else source


def _under(path: Path, parent: Path) -> bool:
    """``path`` is ``parent`` or lies inside it; compared as text, a fraction of what ``Path.parents`` costs."""
    inside, top = str(path), str(parent)
    return inside == top or inside.startswith(top.rstrip("/") + "/")


def _hidden_needs(import_paths: list[str], writable: list[Path]) -> list[Path]:
    """Paths the server needs that the sandbox's private mounts would hide, outermost only."""
    wanted = [
        Path(sys.executable).parent,
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(agentexec.__file__).resolve().parent.parent,
        *(Path(p) for p in sys.path if p),
        *(Path(p) for p in import_paths),
    ]
    hidden: list[Path] = []
    for path in sorted({p.resolve() for p in wanted if p.exists()}, key=lambda p: len(p.parts)):
        if path in PRIVATE or not any(_under(path, private) for private in PRIVATE):
            continue  # all of /tmp would undo its privacy; modules directly in /tmp stay hidden
        if any(_under(path, done) for done in [*hidden, *writable]):
            continue
        hidden.append(path)
    return hidden
