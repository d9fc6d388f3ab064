"""The stdio protocol between a runtime and ``agentexec serve --stdio``: one JSON object per line.

Requests (client to server) carry an ``id``; every response names the ``id`` it answers::

    {"type": "hello", "id": 1, "env": {"FOO": "1"}, "executor_kwargs": {}, "heartbeat": 5.0}
    {"type": "hello", "id": 1, "protocol": 1, "agentexec": "0.1.0", "executor": "m:Cls", "actions": [...], "pid": 42}
    {"type": "execute", "id": 2, "action": {"action": "run", "args": {"command": "ls"}}}
    {"type": "output", "id": 2, "event": {"output": "a.txt\\n", "cause": 2}}      (any number, in order)
    {"type": "alive", "id": 2}                                                     (heartbeat while it runs)
    {"type": "result", "id": 2, "event": {"observation": "run", "content": "a.txt\\n", ...}}
    {"type": "interrupt", "id": 3}   ->   {"type": "ok", "id": 3}
    {"type": "close", "id": 4}       ->   {"type": "ok", "id": 4}, then the server exits
    {"type": "error", "id": 2, "error": "EventFormatError", "message": "..."}      (id null: no usable id)

Events inside messages use the one serialiser, ``events.to_dict``/``from_dict``. Messages are
pydantic models with ``extra="forbid"`` and a ``type`` discriminator, as SWE-ReX does, so a
misspelt field is an error response rather than a silently ignored key. ``hello`` carries the
environment and constructor arguments instead of the command line so secrets never show in ``ps``.

Each model's validator is built on its first use (``defer_build``), not at import: building them
all costs milliseconds that every server start would pay, while a server only ever validates
requests and writes its responses with ``response`` (the same JSON, no model needed), and a client
only builds the request models it sends and the response union it reads.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import to_json

from agentexec import errors
from agentexec.events import describe_validation_error

PROTOCOL_VERSION = 1
#: Longest request line the server accepts; longer ones get an error response and are skipped.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


class Message(BaseModel):
    """Every message: strict fields, and the id of the request it is or answers (none for stray errors)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Optional[int] = None


# -- requests ---------------------------------------------------------------------------------


class HelloRequest(Message):
    """Opens the session: builds and sets up the executor with these arguments."""

    type: Literal["hello"]
    env: dict[str, str] = Field(default_factory=dict)
    executor_kwargs: dict[str, Any] = Field(default_factory=dict)
    heartbeat: Optional[float] = Field(default=None, gt=0)


class ExecuteRequest(Message):
    """Runs one action; at most one runs at a time."""

    type: Literal["execute"]
    action: dict[str, Any]


class InterruptRequest(Message):
    """Interrupts the running action, as Ctrl-C would; harmless when nothing runs."""

    type: Literal["interrupt"]


class CloseRequest(Message):
    """Tears the executor down and ends the server."""

    type: Literal["close"]


Request = Annotated[Union[HelloRequest, ExecuteRequest, InterruptRequest, CloseRequest], Field(discriminator="type")]
REQUEST: TypeAdapter[Request] = TypeAdapter(Request, config=ConfigDict(defer_build=True))


# -- responses --------------------------------------------------------------------------------


class HelloResponse(Message):
    type: Literal["hello"]
    protocol: int
    agentexec: str
    executor: str
    actions: list[dict[str, Any]]
    pid: int


class OutputMessage(Message):
    type: Literal["output"]
    event: dict[str, Any]


class AliveMessage(Message):
    type: Literal["alive"]


class ResultMessage(Message):
    type: Literal["result"]
    event: dict[str, Any]


class OkMessage(Message):
    type: Literal["ok"]


class ErrorMessage(Message):
    """An error carried back with its type name, so the client can raise the same class."""

    type: Literal["error"]
    error: str
    message: str


Response = Annotated[
    Union[HelloResponse, OutputMessage, AliveMessage, ResultMessage, OkMessage, ErrorMessage],
    Field(discriminator="type"),
]
RESPONSE: TypeAdapter[Response] = TypeAdapter(Response, config=ConfigDict(defer_build=True))


def encode(message: BaseModel) -> bytes:
    """One protocol line, newline included (JSON escapes every newline inside strings)."""
    return message.model_dump_json().encode() + b"\n"


def response(kind: str, request_id: Optional[int], **fields: Any) -> bytes:
    """The line of a response of type ``kind``: the JSON ``encode`` makes of its model, fields in its order.

    The server writes responses this way so that it never builds the response models; events
    inside are serialised as a model's ``dict[str, Any]`` field would be (paths and dates as
    strings, NaN as null), and the client still validates every line against ``RESPONSE``.
    """
    return to_json({"id": request_id, "type": kind, **fields}, inf_nan_mode="null") + b"\n"


def decode(line: bytes | str, adapter: TypeAdapter[Any]) -> Any:
    """Parse one line into its message model; raise ``EventFormatError`` saying what is wrong."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.EventFormatError(f"not a JSON line: {exc}") from None
    except RecursionError:  # the parser recurses per nesting level: hostile input must not end the server
        raise errors.EventFormatError("not a JSON line: nested too deeply") from None
    if not isinstance(data, dict):
        raise errors.EventFormatError(f"a message must be a JSON object, got {type(data).__name__}")
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise errors.EventFormatError(
            f"bad {data.get('type', 'untyped')!r} message: {describe_validation_error(exc)}"
        ) from None


def error_response(exc: BaseException, request_id: Optional[int] = None) -> bytes:
    """The ``error`` line for an exception: its type name, so the client can raise the same class."""
    return response("error", request_id, error=type(exc).__name__, message=str(exc))


def raise_error(message: ErrorMessage) -> None:
    """Re-raise a server error as the agentexec class of the same name, else as ``RuntimeFailure``."""
    cls = getattr(errors, message.error, None)
    if isinstance(cls, type) and issubclass(cls, errors.AgentexecError):
        raise cls(message.message)
    raise errors.RuntimeFailure(f"executor server error {message.error}: {message.message}")
