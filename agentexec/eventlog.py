"""The event log: JSON lines, a header then one event per line, flushed as each happens.

A killed run leaves a log that is valid up to its last complete line; the reader tolerates a
cut final line so that such logs can still be shown and replayed. Every kind of line a log holds
is built here, so its shape is decided in one place: the header (``make_header``), an event with
its ``seq`` and ``ts`` (``stamp``), a note about the run that is not an event, such as a
divergence found by ``--verify`` (``note_record``), and the closing result (``result_record``).
"""

from __future__ import annotations

import errno
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Optional

from agentexec.errors import EventFormatError, EventLogWriteError
from agentexec.version import __version__

LOG_FORMAT = 1


def new_log_path(log_dir: str | Path, task_id: str) -> Path:
    """A fresh log file name under ``log_dir``: ``<timestamp>-<task id>.jsonl``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)[:80]
    return Path(log_dir) / f"{stamp}-{safe}.jsonl"


def make_header(task: Any, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The first line of every log: what ran, with which configuration, and when."""
    return {
        "agentexec": __version__,
        "format": LOG_FORMAT,
        "task": task,
        "config": config,
        "started": datetime.now(timezone.utc).isoformat(),
        **extra,
    }


def check_header(header: Any, origin: str) -> dict[str, Any]:
    """The header of a log, refused with a clear message when it is not one or is from the future.

    A newer ``format`` may change what lines mean, so it is refused rather than half-understood.
    """
    if not isinstance(header, dict) or "agentexec" not in header:
        raise EventFormatError(f"{origin}: not an agentexec event log header (no 'agentexec' key)")
    fmt = header.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise EventFormatError(f"{origin}: the header's 'format' must be a positive integer, got {fmt!r}")
    if fmt > LOG_FORMAT:
        raise EventFormatError(
            f"{origin}: log format {fmt} was written by agentexec {header.get('agentexec')}; this agentexec "
            f"{__version__} reads format {LOG_FORMAT} and older; upgrade agentexec to read it"
        )
    return header


class EventLogWriter:
    """Writes the header and each record, each line straight to the file (unbuffered).

    A line that cannot be written whole (a full disk) is cut off again, so the log stays valid
    JSON lines up to its last whole event, and ``EventLogWriteError`` stops the run.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: Optional[IO[bytes]] = open(self.path, "wb", buffering=0)
        self._whole = 0  # bytes of whole lines written

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        data = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        try:
            while data:
                written = self._file.write(data)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                data = data[written:]
        except OSError as exc:
            self._cut_torn_line()
            raise EventLogWriteError(
                f"cannot write the event log {self.path}: {exc.strerror or exc}; "
                "free space there or choose another --log (the log keeps every event before this one)"
            ) from None
        self._whole = self._file.tell()

    def _cut_torn_line(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            os.ftruncate(file.fileno(), self._whole)
        except OSError:
            pass  # nothing more can be done for a file that cannot even shrink
        file.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def result_record(result: dict[str, Any]) -> dict[str, Any]:
    """The last line of a log: how the run ended (``RunResult.to_dict()`` or a result made for a lost job)."""
    return {"result": result}


def note_record(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A line that tells something about the run without being one of its events (no ``seq``).

    ``kind`` is the record's one key besides ``ts`` (``divergence``); readers list such keys so
    they skip notes rather than take them for events.
    """
    return {"ts": round(time.time(), 6), kind: body}


def divergence_record(seq: int, replayed: Optional[int], action: str, diff: str) -> dict[str, Any]:
    """The note ``--verify`` writes when a replayed observation differs from the recorded one."""
    return note_record("divergence", {"seq": seq, "replayed": replayed, "action": action, "diff": diff})


def stamp(record: dict[str, Any], seq: int) -> dict[str, Any]:
    """A record as it is logged: the event with its ``seq`` and a wall-clock ``ts``."""
    return {"seq": seq, "ts": round(time.time(), 6), **record}
