"""The processes of a bash session: finding them, killing them, and a watchdog for when we die.

bash runs as the leader of its own session on its terminal, and every process it starts shares
that session id (``nohup`` and ``disown`` included), which is how they are all found again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

REAP_WAIT = 0.5  # seconds close() waits for the processes it killed to be reaped


def session_members(sid: int, zombies: bool = False) -> list[int]:
    """Live processes (and zombies, if asked) whose session id is ``sid`` (fields 3 and 6 of /proc/PID/stat)."""
    members: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:  # no procfs: nothing to find
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == sid and (zombies or fields[0] != b"Z"):
                members.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return members


def kill_session(leader: int) -> None:
    """Kill every process in the session led by ``leader`` and return once they are gone.

    bash goes last: while it lives it reaps its children, whereas an orphan's zombie waits for
    init, which here may take seconds. Members are killed again while any is left (forks race us).
    """
    watched = set(session_members(leader, zombies=True)) - {leader}  # a zombie is gone once reaped
    for _ in range(5):
        victims = [pid for pid in session_members(leader) if pid != leader]
        if not victims:
            break
        for pid in victims:
            _kill(pid)
        watched.update(victims)
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
#: of session $SID, again while any is left.
_WATCHDOG = r"""
trap '' INT HUP TERM QUIT
while read -r _; do :; done
for round in 1 2 3 4 5; do
  found=
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    set -- ${line##*) }
    if [ "$4" = "$SID" ] && [ "$1" != Z ]; then kill -9 "${stat//[^0-9]/}" 2>/dev/null; found=1; fi
  done
  [ -n "$found" ] || exit 0
done
"""


def start_watchdog(sid: int) -> tuple[subprocess.Popen, int]:
    """A process outside the session that kills it when our end of a pipe closes, however we die."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        ["/bin/bash", "--noprofile", "--norc", "-c", _WATCHDOG],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"SID": str(sid), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        start_new_session=True,
    )
    os.close(read_end)
    return process, write_end
