"""Reading the marker channel: the runner's announcements and the prompt's reports.

The channel is a FIFO that only the session's own ``printf`` builtins write to (see ``script``),
so a command's output, however crafted, never reaches this parser: output and markers travel on
different files. Records are NUL-terminated (a cwd may hold any byte but NUL); one that does not
parse can only come from a process that opened the FIFO on purpose, and is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

_STARTED = re.compile(rb"S(\d{1,18})")
_ENDED = re.compile(rb"E(\d{1,18}):(\d{1,3}):(.*)", re.S)

#: A record longer than this (an announcement, or a report with a PATH_MAX cwd) is not ours.
RECORD_LIMIT = 4096 + 64


@dataclass(frozen=True)
class Started:
    """The runner of command ``command_id`` has begun: bash is past reading its command line."""

    command_id: int


@dataclass(frozen=True)
class Ended:
    """bash is back at its prompt after command ``command_id``, which exited with ``exit_code``."""

    command_id: int
    exit_code: int
    cwd: str


Marker = Union[Started, Ended]


def parse_record(record: bytes) -> Marker | None:
    """One record without its NUL, or None when it is not one the session writes."""
    found = _ENDED.fullmatch(record)
    if found:
        return Ended(int(found.group(1)), int(found.group(2)), found.group(3).decode("utf-8", "replace"))
    found = _STARTED.fullmatch(record)
    return Started(int(found.group(1))) if found else None


class MarkerParser:
    """Splits the channel's bytes into markers; a record cut between two reads waits for its end."""

    def __init__(self) -> None:
        self._partial = b""

    def feed(self, data: bytes) -> list[Marker]:
        *records, self._partial = (self._partial + data).split(b"\0")
        if len(self._partial) > RECORD_LIMIT:
            self._partial = b""
        return [marker for marker in map(parse_record, records) if marker is not None]
