"""Process-count and memory limits for a sandbox, through a cgroup of its own.

``RLIMIT_NPROC`` does not bind root, and agents are often run as root in containers, so a fork
bomb would reach the machine through ``prlimit`` alone; a cgroup's ``pids`` controller binds
everyone. The cgroup is made below the one this process is in (so it can only tighten limits
set above), the launcher moves itself into it before it ``exec``s bubblewrap, and everything it
starts inherits it. ``release`` kills what is left in it and removes it.

cgroup v2 is used where this process's cgroup has the ``pids`` and ``memory`` controllers
delegated to its children; otherwise cgroup v1's ``pids`` and ``memory`` hierarchies, where
they are mounted and writable. Where neither is possible, ``CgroupUnavailable`` says why.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class CgroupUnavailable(RuntimeError):
    """Limits cannot be applied here (no delegated cgroup v2, no writable cgroup v1)."""


def parse_size(value: int | str) -> int:
    """Bytes from ``512M``, ``2G``, ``1048576`` (binary units, as systemd and docker read them)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", str(value), re.IGNORECASE)
    if match is None:
        raise ValueError(f"memory_limit {value!r} is not a size; write bytes or a number with K, M, G or T")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


@dataclass
class Limits:
    """One sandbox's cgroup(s): a single v2 directory, or one per v1 controller."""

    pids_max: int
    memory_max: int
    directories: list[Path] = field(default_factory=list)
    version: int = 0

    @property
    def procs_files(self) -> list[Path]:
        """Where a process writes its pid to join (every controller's, for v1)."""
        return [directory / "cgroup.procs" for directory in self.directories]

    def launcher(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into the cgroup(s)."""
        joins = " && ".join(f"echo $$ > '{path}'" for path in self.procs_files)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "agentexec-cgroup", *command]

    def read(self, name: str) -> str:
        """A control file's value, from whichever directory has it (for checks and tests)."""
        for directory in self.directories:
            if (directory / name).exists():
                return (directory / name).read_text().strip()
        raise FileNotFoundError(f"no cgroup control file {name} in {self.directories}")

    def members(self) -> list[int]:
        pids: set[int] = set()
        for path in self.procs_files:
            try:
                pids.update(int(line) for line in path.read_text().split())
            except OSError:
                continue
        return sorted(pids)

    def release(self, timeout: float = 5.0) -> None:
        """Kill every process left in the cgroup and remove it; safe to call more than once."""
        deadline = time.monotonic() + timeout
        for directory in reversed(self.directories):
            kill_file = directory / "cgroup.kill"
            while directory.exists():
                if kill_file.exists():
                    _write(kill_file, "1")
                for pid in self.members():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    directory.rmdir()
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break  # a process in uninterruptible sleep: the directory stays, empty soon
                    time.sleep(0.01)
        self.directories = []


def create(pids_max: int, memory_max: int | str, name: Optional[str] = None) -> Limits:
    """A fresh cgroup with these limits (0 for none), below this process's own cgroup."""
    limits = Limits(pids_max=int(pids_max), memory_max=parse_size(memory_max))
    name = name or f"agentexec-{os.getpid()}-{secrets.token_hex(4)}"
    own = _own_cgroups()
    problems: list[str] = []
    v2 = _v2_parent(own, problems)
    try:
        if v2 is not None:
            directory = v2 / name
            directory.mkdir()
            limits.directories, limits.version = [directory], 2
            if limits.pids_max:
                _write(directory / "pids.max", str(limits.pids_max))
            if limits.memory_max:
                _write(directory / "memory.max", str(limits.memory_max))
                if (directory / "memory.swap.max").exists():
                    _write(directory / "memory.swap.max", "0")
            return limits
        parents = _v1_parents(own, problems)
        if parents is None:
            raise CgroupUnavailable("; ".join(problems))
        limits.version = 1
        for controller, parent in parents.items():
            directory = parent / name
            directory.mkdir()
            limits.directories.append(directory)
            if controller == "pids" and limits.pids_max:
                _write(directory / "pids.max", str(limits.pids_max))
            if controller == "memory" and limits.memory_max:
                _write(directory / "memory.limit_in_bytes", str(limits.memory_max))
                if (directory / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                    _write(directory / "memory.memsw.limit_in_bytes", str(limits.memory_max))
        return limits
    except OSError as exc:
        limits.release()
        raise CgroupUnavailable(f"cannot create a cgroup: {exc}") from None


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy: controller name (``""`` for v2) to path."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


def _v2_parent(own: dict[str, str], problems: list[str]) -> Optional[Path]:
    """This process's v2 cgroup when it delegates ``pids`` and ``memory`` to children, else None."""
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        controllers = mount / "cgroup.controllers"
        if not controllers.exists():
            continue
        parent = mount / own.get("", "/").lstrip("/")
        try:
            delegated = set((parent / "cgroup.subtree_control").read_text().split())
        except OSError as exc:
            problems.append(f"cgroup v2 at {parent}: {exc}")
            return None
        missing = {"pids", "memory"} - delegated
        if not missing:
            return parent
        problems.append(f"cgroup v2 at {parent} does not delegate {', '.join(sorted(missing))} to child cgroups")
        return None
    problems.append("no cgroup v2 hierarchy is mounted")
    return None


def _v1_parents(own: dict[str, str], problems: list[str]) -> Optional[dict[str, Path]]:
    parents: dict[str, Path] = {}
    for controller in ("pids", "memory"):
        mount = CGROUP_ROOT / controller
        if not (mount / "cgroup.procs").exists():
            problems.append(f"cgroup v1 {controller} controller is not mounted at {mount}")
            return None
        parent = mount / own.get(controller, "/").lstrip("/")
        if not os.access(parent, os.W_OK):
            problems.append(f"cgroup v1 {parent} is not writable (run as root or delegate it)")
            return None
        parents[controller] = parent
    return parents


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(value)
