"""What an action streamed while it ran, and which part of its final content that stream did not show.

A handler may stream lines with ``self.emit`` and return something else (a custom action that
reports progress, then returns "3"), or return exactly what it streamed (``run``: the command's
output, perhaps with a status note after it). Views show the stream live and then only the part of
the content the stream did not already show; the event log keeps a stream the content does not
hold, so ``show`` and the run page can show both as well. The rule lives here, once.
"""

from __future__ import annotations

from typing import Any

#: Characters of a stream kept to compare with the content (and, for the log, to keep).
KEPT_CHARS = 64 * 1024


class StreamedText:
    """The first ``KEPT_CHARS`` characters one action streamed, and how many it streamed in all."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.kept_chars = 0
        self.total_chars = 0

    def feed(self, text: str) -> None:
        self.total_chars += len(text)
        room = KEPT_CHARS - self.kept_chars
        if room > 0:
            self.kept.append(text[:room])
            self.kept_chars += min(room, len(text))

    @property
    def text(self) -> str:
        return "".join(self.kept)

    @property
    def complete(self) -> bool:
        """Whether every streamed character was kept."""
        return self.kept_chars == self.total_chars

    def in_content(self, content: str, extras: dict[str, Any]) -> bool:
        """Whether the content already shows this stream: it starts with it, or it is the excerpt of a
        long output whose whole text went to a file (``output_path``)."""
        if self.total_chars == 0 or "output_path" in extras:
            return True
        return content.startswith(self.text)

    def rest_of(self, content: str, extras: dict[str, Any]) -> str:
        """The part of ``content`` a person has not seen yet after watching the stream."""
        if not self.in_content(content, extras):
            return content
        if "output_path" in extras or not self.complete:
            return ""
        return content[self.total_chars :].lstrip("\n")


class StreamsForTheLog:
    """What an event log keeps of the records a run makes: every action and observation, and an
    action's streamed output only when the observation's content does not hold it (then as one
    ``output`` record just before the observation), so ``show`` shows what the live view showed."""

    def __init__(self) -> None:
        self.streams: dict[int, StreamedText] = {}

    def to_write(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """The records to write for ``record``, in order (none for an output chunk: it is held)."""
        cause = record.get("cause", -1)
        if "output" in record:
            self.streams.setdefault(cause, StreamedText()).feed(record["output"])
            return []
        stream = self.streams.pop(cause, None) if "observation" in record else None
        if stream is None or stream.in_content(record.get("content", ""), record.get("extras", {})):
            return [record]
        text = stream.text
        if not stream.complete:
            text += f"\n[... {stream.total_chars - stream.kept_chars} more characters streamed, not kept]\n"
        return [{"output": text, "cause": cause}, record]
