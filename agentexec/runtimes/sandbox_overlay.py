"""Inside the sandbox, before the server starts: an ephemeral writable system, then fewer capabilities.

``[runtime] overlay = true`` runs this first, as bubblewrap's child::

    python -m agentexec.runtimes.sandbox_overlay BIND... -- serve --stdio ...

It mounts an overlay filesystem over each system directory (``/etc``, ``/usr``, ``/var`` ...): the
host's files are the lower layer, read-only; every change lands in an upper layer in the
sandbox's private ``/tmp`` and vanishes with it. So a task may install packages or add users
and the host never sees it. Bind mounts under those directories (the workspace, the output
directory, hidden interpreter paths: the ``BIND`` arguments) are carried over the overlay, so
they stay the host's own. Then it drops every capability but those packages and users need
(``chown``, ``dac_override``, ``fowner``, ``fsetid``, ``kill``, ``setgid``, ``setuid``) from the
bounding set and becomes the server, in this same process. Commands root runs in there (bash,
``exec``, ``exec`` with ``user`` for a user it added) get those on exec, as root's commands do:
``adduser`` writes into the home it gave away. The server itself leaves ``dac_override`` out of
its effective set, so ``read_file``/``write_file`` honour file permissions as everywhere else.
Nothing in there can mount: the overlay cannot be undone.

bubblewrap 0.9 has ``--overlay-src``/``--tmp-overlay`` for this; doing it here works with the
0.8 that Debian 12 ships as well, and carries the bind mounts over, which bwrap's options do not.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import sys
from pathlib import Path

#: Where packages, users and their files go; each gets an overlay when it is a real directory.
SYSTEM_DIRS = ("/etc", "/usr", "/var", "/opt", "/srv", "/home", "/root", "/run", "/mnt", "/media")
#: The upper layers, in the sandbox's private /tmp.
UPPER = Path("/tmp/.agentexec-overlay")
#: Capability numbers (linux/capability.h) of what root's commands keep in there.
KEPT_CAPABILITIES = {"chown": 0, "dac_override": 1, "fowner": 3, "fsetid": 4, "kill": 5, "setgid": 6, "setuid": 7}
#: Of those, what the server itself leaves out of its effective set.
SERVER_LACKS = ("dac_override",)
MS_BIND = 4096
MS_REC = 16384
PR_CAPBSET_DROP = 24
SYS_CAPSET_BY_MACHINE = {"x86_64": 126, "aarch64": 91, "i686": 185, "armv7l": 185, "ppc64le": 184, "s390x": 185}
CAPABILITY_VERSION_3 = 0x20080522


class OverlayError(OSError):
    """A mount the overlay needs failed: said on stderr, where the runtime's start error quotes it."""


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags, data.encode() if data else None
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OverlayError(code, f"cannot mount {fstype or 'a bind'} on {target}: {os.strerror(code)}")


def _under(path: str, parent: str) -> bool:
    return path.startswith(parent.rstrip("/") + "/")


def overlay_system(binds: list[str]) -> list[str]:
    """Mount an overlay over every system directory, keeping the bind mounts beneath them; the ones done."""
    done = []
    kept = 0
    for directory in SYSTEM_DIRS:
        path = Path(directory)
        if path.is_symlink() or not path.is_dir() or directory in binds:
            continue  # a directory that is itself a bind (a workspace at /srv) stays as bound
        inner = sorted((b for b in binds if _under(b, directory)), key=len)
        saved = []
        for bind in inner:
            keep = UPPER / f"keep-{kept}"
            kept += 1
            keep.mkdir(parents=True)
            _mount(bind, str(keep), None, MS_BIND | MS_REC)
            saved.append((str(keep), bind))
        upper, work = UPPER / directory.strip("/") / "upper", UPPER / directory.strip("/") / "work"
        upper.mkdir(parents=True)
        work.mkdir(parents=True)
        _mount("overlay", directory, "overlay", 0, f"lowerdir={directory},upperdir={upper},workdir={work}")
        for keep_path, bind in saved:
            _mount(keep_path, bind, None, MS_BIND | MS_REC)
        done.append(directory)
    return done


def drop_capabilities() -> None:
    """Bounding set: only ``KEPT_CAPABILITIES``; this process: those, less ``SERVER_LACKS`` in effect."""
    libc = ctypes.CDLL(None, use_errno=True)
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    kept = set(KEPT_CAPABILITIES.values())
    for capability in range(last + 1):
        if capability not in kept and libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"cannot drop capability {capability}: {os.strerror(code)}")
    permitted = sum(1 << number for number in kept)
    effective = permitted & ~sum(1 << KEPT_CAPABILITIES[name] for name in SERVER_LACKS)
    header = (ctypes.c_uint32 * 2)(CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)(effective, permitted, 0, 0, 0, 0)  # two 32-bit sets: all kept are < 32
    number = SYS_CAPSET_BY_MACHINE.get(os.uname().machine)
    if number is None or libc.syscall(number, header, data) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot set capabilities: {os.strerror(code) if number else 'unknown machine'}")


def main(argv: list[str]) -> None:
    if "--" not in argv:
        raise SystemExit("usage: python -m agentexec.runtimes.sandbox_overlay BIND... -- SERVE_ARGS...")
    split = argv.index("--")
    binds, serve_args = argv[:split], argv[split + 1 :]
    cwd = os.getcwd()
    try:
        overlay_system(binds)
        drop_capabilities()
    except OSError as exc:
        raise SystemExit(f"agentexec sandbox overlay: {exc.strerror or exc}") from None
    os.chdir(cwd)  # the workspace as carried over the overlay, not the mount it covered
    sys.argv = ["agentexec", *serve_args]
    runpy.run_module("agentexec", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
