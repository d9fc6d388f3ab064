"""Property-based: the log reader gives back exactly what was written, and a log cut at any byte
(a run killed mid-write) reads as a prefix of it or is refused in one line, never a crash."""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentexec.errors import UsageError
from agentexec.eventlog import EventLogWriter, make_header
from agentexec.events import to_dict
from agentexec.replay.reader import LogReader
from tests.test_events_properties import EVENTS, PROPERTY


def write_log(directory: Path, events: list[Any]) -> Path:
    path = directory / "run.jsonl"
    writer = EventLogWriter(path)
    writer.write(make_header({"id": "t", "actions": []}, {}))
    for seq, event in enumerate(events, start=1):
        writer.write({"seq": seq, "ts": 1.0, **to_dict(event)})
    writer.write({"result": {"outcome": "finished"}})
    writer.close()
    return path


@PROPERTY
@given(st.lists(EVENTS, max_size=8))
def test_the_reader_returns_every_event_written(events: list[Any]) -> None:
    with TemporaryDirectory() as directory:
        reader = LogReader(write_log(Path(directory), events))
        assert [event for _, event in reader.entries()] == events
        assert reader.result == {"outcome": "finished"}
        assert reader.warnings == []


@PROPERTY
@given(st.lists(EVENTS, min_size=1, max_size=6), st.floats(min_value=0, max_value=1))
def test_a_log_cut_anywhere_reads_as_a_prefix_or_one_clear_error(events: list[Any], where: float) -> None:
    with TemporaryDirectory() as directory:
        path = write_log(Path(directory), events)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * where)])
        try:
            reader = LogReader(path)
            read = [event for _, event in reader.entries()]
        except UsageError as exc:  # cut inside the header, or inside a multi-byte character
            assert str(exc).startswith(str(path)), exc
            return
        assert read == events[: len(read)]


@PROPERTY
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_read_or_refused_with_a_usage_error(data: bytes) -> None:
    with TemporaryDirectory() as directory:
        path = Path(directory) / "run.jsonl"
        path.write_bytes(b'{"agentexec": "0.1.0", "format": 1}\n' + data)
        try:
            list(LogReader(path).entries())
        except UsageError:
            pass
