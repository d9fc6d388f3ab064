"""What a command printed, made fit for an observation: decoded, cleaned and capped.

Terminal bytes become text with invalid UTF-8 replaced, ANSI sequences, control characters and
bash's job reports removed (and that said); a command's output keeps its head and tail within a
limit while everything is spilled to a file, so memory stays bounded whatever a command prints.
"""

from __future__ import annotations

import codecs
import os
import re
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Optional

#: A spill file stops growing here (``yes`` until a timeout must not fill the disk).
SPILL_LIMIT_CHARS = 100_000_000

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# bash's job reports ("[1]+  Done   sleep 1"), with the job's text when it spans lines (bash
# indents its body by four spaces and puts do/done/then/fi/esac/} on lines of their own): about
# background jobs, so not a command's output. "Stopped" stays: it reports what C-z did.
_JOB_NOTICE = re.compile(
    r"^\[\d+\][+\- ] +(?!Stopped)[A-Z][^\n]*(\n|$)((    [^\n]*|do|done|then|else|fi|esac|\}|\{)(\n|$))*", re.M
)


class OutputBuffer:
    """Keeps the head and tail of a command's output within ``limit`` characters.

    Everything beyond the limit is spilled in full to a file (up to ``SPILL_LIMIT_CHARS``), so
    nothing is lost and memory stays bounded however much a command prints.
    """

    def __init__(self, limit: int, spill_dir: Path) -> None:
        self.limit = limit
        self.spill_dir = spill_dir
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.total = 0
        self.spilled = 0
        self.spill_path: Optional[Path] = None
        self._spill: Optional[IO[str]] = None

    def add(self, text: str) -> None:
        if not text:
            return
        self.total += len(text)
        if self._spill is not None:
            self._write_spill(text)
        elif self.total > self.limit:
            handle, name = make_file(self.spill_dir, "output-", ".txt")
            self._spill = os.fdopen(handle, "w", encoding="utf-8", errors="replace")
            self.spill_path = Path(name)
            self._write_spill("".join(self.head) + "".join(self.tail) + text)
        half = self.limit // 2
        if self.head_size < half:
            take = text[: half - self.head_size]
            self.head.append(take)
            self.head_size += len(take)
            text = text[len(take) :]
        if text:
            self.tail.append(text)
            self.tail_size += len(text)
            while self.tail and self.tail_size - len(self.tail[0]) >= self.limit - half:
                self.tail_size -= len(self.tail.popleft())

    def _write_spill(self, text: str) -> None:
        assert self._spill is not None
        room = SPILL_LIMIT_CHARS - self.spilled
        if room > 0:
            self._spill.write(text[:room])
            self.spilled += min(room, len(text))

    def text(self) -> str:
        head = "".join(self.head)
        tail = "".join(self.tail)
        if self._spill is None:
            return head + tail
        self._spill.close()
        keep = self.limit - len(head)
        tail = tail[-keep:] if keep > 0 else ""
        cut = self.total - len(head) - len(tail)
        where = f"full output in {self.spill_path}"
        if self.spilled < self.total:
            where = f"the first {self.spilled} characters are in {self.spill_path}"
        return f"{head}\n[... {cut} characters cut; {where} ...]\n{tail}"


@dataclass
class CleaningStats:
    """What had to be cleaned out of a command's output, shared by the decoders of its terminals."""

    invalid_utf8: bool = False
    control_sequences: bool = False

    def notes(self) -> list[str]:
        notes = []
        if self.invalid_utf8:
            notes.append("output contained invalid UTF-8, replaced with U+FFFD")
        if self.control_sequences:
            notes.append("terminal control sequences were removed from the output")
        return notes


class OutputDecoder:
    """Turns one terminal's bytes into clean text and records what had to be cleaned in ``stats``."""

    def __init__(self, stats: CleaningStats) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.stats = stats

    def __call__(self, data: bytes, final: bool = False) -> str:
        text = self.decoder.decode(data, final)
        if not text:
            return ""
        if "\ufffd" in text and text.count("\ufffd") > data.count(b"\xef\xbf\xbd"):
            self.stats.invalid_utf8 = True
        text = text.replace("\r\n", "\n")
        if "]" in text:
            text = _JOB_NOTICE.sub("", text)
        if "\x1b" in text or _CONTROL.search(text):
            text = _CONTROL.sub("", _ANSI.sub("", text))
            self.stats.control_sequences = True
        return text


def make_file(directory: Path, prefix: str, suffix: str) -> tuple[int, str]:
    """A new file in ``directory``, or in the temporary directory if that one cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "agentexec-outputs"
        fallback.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=fallback)
