"""Property-based: any event survives the trip to a log line and back unchanged, and anything that
is not an event is refused with ``EventFormatError``, never another exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentexec.errors import EventFormatError
from agentexec.events import Action, Observation, Output, from_dict, to_dict

PROPERTY = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

#: Every JSON value (finite numbers: NaN is not equal to itself, and the log writes it as null).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=8,
)
NAME = st.text(min_size=1)
CAUSE = st.none() | st.integers(min_value=0)

ACTIONS = st.builds(Action, action=NAME, args=st.dictionaries(st.text(), JSON, max_size=5), thought=st.text())
OBSERVATIONS = st.builds(
    Observation, observation=NAME, content=st.text(), extras=st.dictionaries(st.text(), JSON, max_size=5), cause=CAUSE
)
OUTPUTS = st.builds(Output, output=st.text(), cause=CAUSE)
EVENTS = ACTIONS | OBSERVATIONS | OUTPUTS


def log_line(event: Any) -> str:
    """The event as the event log writes it (``EventLogWriter``: UTF-8 JSON, non-ASCII kept)."""
    return json.dumps({"seq": 1, "ts": 1.5, **to_dict(event)}, ensure_ascii=False)


@PROPERTY
@given(EVENTS)
def test_every_event_round_trips_through_a_log_line(event: Any) -> None:
    assert from_dict(json.loads(log_line(event))) == event


@PROPERTY
@given(st.dictionaries(st.text(), JSON, max_size=6) | JSON)
def test_anything_else_is_an_event_or_an_event_format_error(data: Any) -> None:
    try:
        event = from_dict(data)
    except EventFormatError as exc:
        assert str(exc).startswith(("an event", "bad ")), exc
        return
    assert isinstance(event, (Action, Observation, Output))
    assert from_dict(to_dict(event)) == event
