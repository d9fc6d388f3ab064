"""The processes of a bash session: finding them, probing them, killing them, and a watchdog.

bash runs as the leader of its own session on its terminal, and every process it starts shares
that session id (``nohup`` and ``disown`` included), which is how they are all found again. A
process that leaves the session (``setsid``, a daemon's double fork) still carries bash's
environment, where ``AGENTEXEC_SESSION`` holds a tag of this session; a process started after bash
whose environment carries the tag is counted in too. Only one that both leaves the session and
clears its environment (``env -i setsid ...``) escapes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

REAP_WAIT = 0.5  # seconds close() waits for the processes it killed to be reaped

#: The environment variable that tags every process of a session; see the module doc.
TAG_VARIABLE = "AGENTEXEC_SESSION"


def session_members(sid: int, zombies: bool = False, tag: str | None = None) -> list[int]:
    """Live processes (and zombies, if asked) whose session id is ``sid`` (fields 3 and 6 of
    /proc/PID/stat), and, given the session's ``tag``, those that left it but carry the tag."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no procfs: nothing to find
        return members
    needle = f"{TAG_VARIABLE}={tag}".encode() if tag else None
    since = (_start_time(sid) or 0) if needle else None  # bash gone: every process is a suspect
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if not zombies and fields[0] == b"Z":
                continue
            if int(fields[3]) == sid or (
                since is not None and int(fields[19]) >= since and _carries(int(entry), needle)
            ):
                members.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return members


def _start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _carries(pid: int, needle: bytes | None) -> bool:
    """Whether the environment ``pid`` was started with holds the entry ``needle``."""
    with open(f"/proc/{pid}/environ", "rb") as handle:
        return needle in handle.read().split(b"\0")


#: System calls, by machine, in which a process waits for input: a read of arg0's fd, or a
#: select/pselect6 whose nfds (arg0) of 1 watches fd 0 only (readline in Python's REPL).
_INPUT_SYSCALLS = {
    "x86_64": {"0": "read", "23": "select", "270": "pselect6"},
    "aarch64": {"63": "read", "72": "pselect6"},
}


def terminal_of(pid: int) -> str:
    """The terminal a process has as stdin (/dev/pts/N), or "" where procfs cannot tell."""
    try:
        return os.readlink(f"/proc/{pid}/fd/0")
    except OSError:
        return ""


def blocked_reading(pids: list[int], terminals: set[str]) -> bool:
    """Whether one of ``pids`` is blocked reading one of ``terminals`` (from /proc/PID/syscall)."""
    calls = _INPUT_SYSCALLS.get(os.uname().machine, {})
    for pid in pids:
        try:
            with open(f"/proc/{pid}/syscall") as handle:
                fields = handle.read().split()
            kind = calls.get(fields[0]) if fields else None
            if kind is None or (kind != "read" and int(fields[1], 16) != 1):
                continue
            fd = int(fields[1], 16) if kind == "read" else 0
            if os.readlink(f"/proc/{pid}/fd/{fd}") in terminals:
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def would_die_of_sigint(pid: int) -> bool:
    """Whether a SIGINT sent now would end ``pid``: it is alive, has none pending, and neither
    ignores, catches nor blocks it. Such a process still running after a Ctrl-C never got it."""
    bit = 1 << (signal.SIGINT - 1)
    try:
        with open(f"/proc/{pid}/status") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return False
    if fields.get("State", "").strip().startswith(("Z", "X")):
        return False
    masks = ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
    return not any(int(fields.get(name, "0").strip() or "0", 16) & bit for name in masks)


def holds_for_reading(pids: list[int], path: str) -> bool:
    """Whether one of ``pids`` has ``path`` open for reading (a pager reading keys from its terminal)."""
    for pid in pids:
        try:
            fds = os.scandir(f"/proc/{pid}/fd")
        except OSError:
            continue
        with fds:
            for entry in fds:
                try:
                    if entry.stat(follow_symlinks=False).st_mode & 0o400 and os.readlink(entry.path) == path:
                        return True
                except OSError:
                    continue
    return False


def kill_session(leader: int, tag: str | None = None, idle: bool = False) -> None:
    """Kill every process in the session led by ``leader`` (or tagged ``tag``) and return once they are gone.

    bash goes last: while it lives it reaps its children, whereas an orphan's zombie waits for
    init, which here may take seconds. The session is searched again for processes forked while
    the last ones were being killed, unless there were none and bash is ``idle`` at its prompt,
    where nothing is left that could fork (one scan of /proc instead of two: ~1 ms a close).
    """
    watched = set(session_members(leader, zombies=True, tag=tag)) - {leader}  # a zombie is gone once reaped
    victims, search = list(watched), bool(watched) or not idle
    for _ in range(5):
        for pid in victims:
            _kill(pid)
        if not search:
            break
        victims = [pid for pid in session_members(leader, tag=tag) if pid != leader and pid not in watched]
        watched.update(victims)
        search = bool(victims)
    deadline = time.monotonic() + REAP_WAIT
    while watched and time.monotonic() < deadline:
        time.sleep(0.001)
        watched = {pid for pid in watched if os.path.exists(f"/proc/{pid}")}
    _kill(leader)  # our caller reaps it


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:  # gone already, or not ours to kill (sudo): nothing more to do
        pass


#: Waits for EOF on stdin (this process closed the pipe or died), then kills every live process
#: of session $SID, and every one started since bash ($SINCE) that carries $TAG, again while any is
#: left, and removes the session's scratch directory ($SCRATCH). POSIX sh: on Debian that is dash,
#: which starts in a third of bash's time, at every session.
_WATCHDOG = r"""
trap '' INT HUP TERM QUIT
while read -r _; do :; done
for round in 1 2 3 4 5; do
  found=
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    set -- ${line##*) }
    [ "$1" != Z ] || continue
    dir=${stat%/stat}
    if [ "$4" = "$SID" ] || { [ "${20}" -ge "$SINCE" ] 2>/dev/null &&
        tr '\0' '\n' < "$dir/environ" 2>/dev/null | grep -qxF "$TAG"; }; then
      kill -9 "${dir#/proc/}" 2>/dev/null
      found=1
    fi
  done
  [ -n "$found" ] || break
done
[ -z "$SCRATCH" ] || rm -rf "$SCRATCH"
"""


def start_watchdog(sid: int, tag: str, scratch: str = "") -> tuple[subprocess.Popen, int]:
    """A process outside the session that kills it when our end of a pipe closes, however we die,
    and then removes its ``scratch`` directory (a killed agentexec would leave one per session)."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["/bin/sh", "-c", _WATCHDOG],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={
            "SID": str(sid),
            "SINCE": str(_start_time(sid) or 0),
            "TAG": f"{TAG_VARIABLE}={tag}",
            "SCRATCH": scratch,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        },
        start_new_session=True,
    )
    os.close(read_end)
    return process, write_end
