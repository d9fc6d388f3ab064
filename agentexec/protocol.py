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
    {"type": "read_file", "id": 5, "path": "out", "limit": null, "tree": true}
        ->  {"type": "file", "id": 5, "kind": "tree", "size": 0, "mode": 493},
            {"type": "chunk", "id": 5, "size": 1048576} + 1048576 raw bytes ..., {"type": "ok", "id": 5}
    {"type": "write_file", "id": 6, "path": "f.bin", "tree": false, "mode": 420}
    {"type": "chunk", "id": 6, "size": 1048576} + 1048576 raw bytes ...  {"type": "chunk", "id": 6, "last": true}
        ->  {"type": "ok", "id": 6}   (or an error as soon as it is known; later chunks are then dropped)
    {"type": "error", "id": 2, "error": "EventFormatError", "message": "..."}      (id null: no usable id)

A ``chunk`` line is a frame header: exactly ``size`` raw bytes follow its newline, in both
directions, so file data costs no base64 and no JSON parsing. Files travel in chunks of at most
``transfer.CHUNK_SIZE`` bytes, a directory as one tar stream (``kind: "tree"``), with no answer
per chunk: the pipe's back-pressure paces the sender and bounds memory on both sides. A chunk
carries the id of the ``read_file`` or ``write_file`` it belongs to; ``abort`` ends a write whose
sender failed, leaving the target as it was. File errors come back as
``PathNotFound``, ``PathPermissionDenied``, ``PathIsADirectory``, ``FileTooLarge``..., which the
client raises as the same classes (subclasses of ``FileNotFoundError`` and its siblings).
Several requests may be in flight at once: every response names its request, and an executor
whose class allows it (``concurrent_actions``) runs independent actions side by side.

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
from typing import IO, Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import to_json

from agentexec import errors
from agentexec.events import describe_validation_error

#: 2: file data in raw frames after ``chunk`` headers (1 sent it base64 inside the JSON line).
PROTOCOL_VERSION = 2
#: Longest request line the server accepts; longer ones get an error response and are skipped.
MAX_REQUEST_BYTES = 64 * 1024 * 1024
#: Largest raw frame a ``chunk`` header may announce; a reader never allocates more for one.
MAX_CHUNK_BYTES = 16 * 1024 * 1024


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
    #: Where the client wants spilled outputs; given to executors whose constructor takes ``output_dir``.
    output_dir: Optional[str] = None
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


class ReadFileRequest(Message):
    """Streams a file (``kind: "file"``) or a directory as a tar stream (``kind: "tree"``) back."""

    type: Literal["read_file"]
    path: str
    limit: Optional[int] = Field(default=None, ge=0)
    tree: bool = False  # a directory is packed (a download); else it is an IsADirectoryError


class WriteFileRequest(Message):
    """Opens a file (or, with ``tree``, a directory to unpack a tar stream into) for the chunks that follow."""

    type: Literal["write_file"]
    path: str
    tree: bool = False
    mode: Optional[int] = Field(default=None, ge=0, le=0o7777)


class ChunkRequest(Message):
    """``size`` raw bytes (after this line) for the ``write_file`` of the same id; ``last`` commits it,
    ``abort`` drops it."""

    type: Literal["chunk"]
    size: int = Field(default=0, ge=0, le=MAX_CHUNK_BYTES)
    last: bool = False
    abort: bool = False


Request = Annotated[
    Union[
        HelloRequest, ExecuteRequest, InterruptRequest, CloseRequest, ReadFileRequest, WriteFileRequest, ChunkRequest
    ],
    Field(discriminator="type"),
]
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


class FileMessage(Message):
    """What a ``read_file`` found: a regular file of ``size`` bytes or a directory (a tar stream
    follows), with its permission bits, so a download keeps them."""

    type: Literal["file"]
    kind: Literal["file", "tree"]
    size: int
    mode: Optional[int] = None


class ChunkMessage(Message):
    """The header of ``size`` raw bytes of a ``read_file``'s stream; ``data`` holds them once read."""

    type: Literal["chunk"]
    size: int = Field(ge=0, le=MAX_CHUNK_BYTES)
    data: bytes = b""


class ErrorMessage(Message):
    """An error carried back with its type name, so the client can raise the same class."""

    type: Literal["error"]
    error: str
    message: str


Response = Annotated[
    Union[
        HelloResponse, OutputMessage, AliveMessage, ResultMessage, OkMessage, ErrorMessage, FileMessage, ChunkMessage
    ],
    Field(discriminator="type"),
]
RESPONSE: TypeAdapter[Response] = TypeAdapter(Response, config=ConfigDict(defer_build=True))


def encode(message: BaseModel) -> bytes:
    """One protocol line, newline included (JSON escapes every newline inside strings)."""
    return message.model_dump_json().encode() + b"\n"


def response(message_type: str, request_id: Optional[int], **fields: Any) -> bytes:
    """The line of a response of type ``message_type``: the JSON ``encode`` makes of its model, fields in its order.

    The server writes responses this way so that it never builds the response models; events
    inside are serialised as a model's ``dict[str, Any]`` field would be (paths and dates as
    strings, NaN as null), and the client still validates every line against ``RESPONSE``.
    """
    return to_json({"id": request_id, "type": message_type, **fields}, inf_nan_mode="null") + b"\n"


def guess_id(line: bytes) -> Optional[int]:
    """The id of a request that failed validation, when it has a usable one."""
    try:
        value = json.loads(line).get("id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def frame_size(line: bytes) -> int:
    """How many raw bytes follow ``line``: its ``size`` when it is a ``chunk`` header, else 0.

    Read from the raw JSON, so a header that fails validation still lets the reader skip its
    bytes and stay in step with the stream.
    """
    if b'"chunk"' not in line:
        return 0
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 0
    if not isinstance(data, dict) or data.get("type") != "chunk":
        return 0
    size = data.get("size", 0)
    return size if isinstance(size, int) and 0 < size <= MAX_CHUNK_BYTES else 0


def read_exact(stream: IO[bytes], size: int) -> bytes:
    """Exactly ``size`` bytes of a frame; ``EventFormatError`` when the stream ends first."""
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise errors.EventFormatError(f"the stream ended {size - len(data)} bytes into a {size}-byte chunk")
    return data


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
