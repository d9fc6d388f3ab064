"""The one event shape used everywhere: task files, event logs, the server protocol, tool schemas.

An *action* is what an agent wants done, an *observation* what came of it, and an *output*
chunk a piece of an action's output while it is still running. ``to_dict`` and ``from_dict``
are the only (de)serialisers; everything else goes through them so the shapes cannot drift.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentexec.errors import EventFormatError

#: Keys an event log adds to an event; they are not part of the event itself. ``usage`` is the
#: token usage (and cost) of the agent step that produced an action, e.g. the LLM agent's.
RECORD_KEYS = ("seq", "ts", "phase", "usage")


class Action(BaseModel):
    """A request to the executor: ``{"action": "run", "args": {"command": "ls"}}``."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    thought: str = ""


class Observation(BaseModel):
    """What an action produced; ``cause`` is the ``seq`` of the action in the event log."""

    model_config = ConfigDict(extra="forbid")

    observation: str = Field(min_length=1)
    content: str = ""
    extras: dict[str, Any] = Field(default_factory=dict)
    cause: int | None = None

    @property
    def is_error(self) -> bool:
        """True for the ``error`` observation an executor returns when an action cannot run."""
        return self.observation == "error"


class Output(BaseModel):
    """A chunk of a running action's output, streamed before its final observation."""

    model_config = ConfigDict(extra="forbid")

    output: str
    cause: int | None = None


Event = Union[Action, Observation, Output]


def error(content: str, **extras: Any) -> Observation:
    """The observation for an action that could not be carried out."""
    return Observation(observation="error", content=content, extras=extras)


def to_dict(event: Event) -> dict[str, Any]:
    """Serialise an event to the JSON shape of the design, leaving out empty optional fields."""
    if isinstance(event, Action):
        data: dict[str, Any] = {"action": event.action, "args": event.args}
        if event.thought:
            data["thought"] = event.thought
        return data
    if isinstance(event, Observation):
        data = {"observation": event.observation, "content": event.content, "extras": event.extras}
    else:
        data = {"output": event.output}
    if event.cause is not None:
        data["cause"] = event.cause
    return data


def from_dict(data: Any) -> Event:
    """Parse one event; log bookkeeping keys (``seq``, ``ts``) are accepted and dropped."""
    if not isinstance(data, dict):
        raise EventFormatError(f"an event must be a JSON object, got {type(data).__name__}")
    fields = {key: value for key, value in data.items() if key not in RECORD_KEYS}
    for key, model in (("action", Action), ("observation", Observation), ("output", Output)):
        if key in fields:
            try:
                return model.model_validate(fields)
            except ValidationError as exc:
                raise EventFormatError(f"bad {key} event: {describe_validation_error(exc)}") from None
    raise EventFormatError(
        "an event needs an 'action', 'observation' or 'output' key, got keys: " + (", ".join(sorted(fields)) or "none")
    )


def as_action(value: Action | dict[str, Any]) -> Action:
    """Accept an ``Action`` or its dict form, as ``Runtime.execute`` does."""
    if isinstance(value, Action):
        return value
    event = from_dict(value)
    if not isinstance(event, Action):
        raise EventFormatError("expected an action (a dict with an 'action' key)")
    return event


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line naming each failing field by its path, e.g. ``actions[2].args: ...``."""
    parts = []
    for err in exc.errors():
        path = prefix
        for loc in err["loc"]:
            path += f"[{loc}]" if isinstance(loc, int) else (f".{loc}" if path else str(loc))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{path or 'value'}: {message}")
    return "; ".join(parts)


def describe_action(name: str, args: dict[str, Any], json_limit: Optional[int] = None) -> str:
    """The one line that names what an action does, the same in the terminal view and on a run page;
    an action with no shorter form shows its arguments as JSON, cut at ``json_limit`` characters."""
    if name == "run":
        return ("input " if args.get("is_input") else "") + str(args.get("command", ""))
    if name in ("read", "write") and "path" in args:
        return str(args["path"])
    if name == "edit":
        return f"{args.get('command', '')} {args.get('path', '')}"
    if name in ("finish", "message"):
        return str(args.get("message", args.get("content", "")))
    return json.dumps(args, ensure_ascii=False)[:json_limit]
