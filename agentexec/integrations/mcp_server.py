"""The configured executor as an MCP server: every ``@action`` a tool, every call an event in the log.

Built on the official SDK's low-level ``Server``, because the tool schemas come from our action
schemas (the ones ``agentexec actions --json`` prints), not from Python signatures. Calls run in a
worker thread, one at a time (the executor owns one bash session), through the loop's ``execute``
and ``Recorder``, so an MCP session is an ordinary event log that ``show``/``replay`` read.
A client's cancellation interrupts the running action as Ctrl-C would; output streams as progress
notifications when the client gave a progress token.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server

from agentexec.events import Action, Observation
from agentexec.loop import Recorder, RunResult, execute
from agentexec.runtimes.base import Runtime
from agentexec.version import __version__

#: Actions that steer agentexec's own loop; an MCP host has no loop for them to end.
NOT_TOOLS = ("finish", "message")
#: A call whose arguments are bigger than this (as JSON) is refused before it reaches the executor.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: ``report_progress(progress, total, message)`` of the SDK's session, for one call.
Progress = Callable[[float, Optional[float], Optional[str]], Awaitable[None]]


class ToolBridge:
    """Runs MCP tool calls as actions of one started runtime, recording each in ``recorder``."""

    def __init__(self, runtime: Runtime, recorder: Recorder, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES):
        self.runtime = runtime
        self.recorder = recorder
        self.max_request_bytes = max_request_bytes
        self.schemas = {s["name"]: s for s in runtime.action_schemas() if s["name"] not in NOT_TOOLS}
        self.calls = 0
        self._lock = asyncio.Lock()  # one action at a time: the executor's session is not re-entrant
        # One long-lived worker thread: starting a thread per call cost most of a millisecond.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcp-action")

    def close(self) -> None:
        """Let the worker thread end once the action it may still run returns."""
        self._worker.shutdown(wait=False, cancel_futures=True)

    def tools(self) -> list[types.Tool]:
        return [
            types.Tool(name=name, description=schema.get("description") or None, input_schema=schema["parameters"])
            for name, schema in self.schemas.items()
        ]

    async def call(self, name: str, arguments: dict[str, Any], progress: Optional[Progress]) -> types.CallToolResult:
        """One tool call: refused with ``isError`` when unknown or oversized, else executed and recorded.

        ``progress`` is None when the client gave no progress token: the output then goes to the
        log alone, with no per-chunk hop to the event loop."""
        if name not in self.schemas:
            return failure(f"unknown tool {name!r}; this server has: {', '.join(self.schemas)}")
        size = len(json.dumps(arguments, ensure_ascii=False).encode())
        if size > self.max_request_bytes:
            return failure(
                f"arguments of tool {name!r} are {size} bytes, over the limit of {self.max_request_bytes}; "
                "send less, or raise agentexec mcp --max-request-bytes"
            )
        async with self._lock:
            self.calls += 1
            return as_result(await self._execute(Action(action=name, args=arguments), progress))

    async def _execute(self, act: Action, progress: Optional[Progress]) -> Observation:
        """Run ``act`` in the worker thread; the loop hears back once, when it is done.

        Each hop from the worker to the loop is a wake-up of this thread, which on a busy machine
        waits for a free core: a quick action costs two hops (there and back), and output chunks
        one each only when a client listens for them."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Observation] = loop.create_future()
        chunks: Optional[asyncio.Queue[Optional[str]]] = None
        recorder: Recorder = self.recorder
        if progress is not None:
            queue: asyncio.Queue[Optional[str]] = asyncio.Queue()
            chunks = queue
            recorder = StreamingRecorder(self.recorder, lambda text: loop.call_soon_threadsafe(queue.put_nowait, text))

        def work() -> None:
            try:
                outcome: Observation | BaseException = execute(self.runtime, recorder, act)
            except BaseException as exc:  # handed to the awaiting call, which raises it there
                outcome = exc
            loop.call_soon_threadsafe(_settle, done, outcome, chunks)

        self._worker.submit(work)
        try:
            if chunks is not None and progress is not None:
                await self._stream(chunks, progress)
            return await done
        except anyio.get_cancelled_exc_class():
            self.runtime.interrupt()  # the client cancelled: Ctrl-C, then let the action record its end
            with anyio.CancelScope(shield=True):
                await asyncio.wait([done])
            raise

    @staticmethod
    async def _stream(chunks: asyncio.Queue[Optional[str]], progress: Progress) -> None:
        """Send each output chunk as a progress notification until the action is done (None)."""
        sent = 0
        while (text := await chunks.get()) is not None:
            sent += len(text)
            await progress(float(sent), None, text)


def _settle(
    done: asyncio.Future[Observation], outcome: Observation | BaseException, chunks: Optional[asyncio.Queue[Any]]
) -> None:
    """On the loop: resolve a call's future (unless a cancellation got there first), end its stream."""
    if chunks is not None:
        chunks.put_nowait(None)
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


class StreamingRecorder(Recorder):
    """The shared recorder, with output chunks also handed to one call's progress stream."""

    def __init__(self, shared: Recorder, on_output: Any) -> None:
        self.shared = shared
        self.on_output = on_output

    def event(self, event: Action | Observation, **meta: Any) -> int:
        return self.shared.event(event, **meta)

    def output(self, text: str, cause: int) -> None:
        self.shared.output(text, cause)
        self.on_output(text)


def failure(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def as_result(observation: Observation) -> types.CallToolResult:
    """Content as text, extras as structured content, ``isError`` for an error observation."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=observation.content)],
        structured_content=observation.extras or None,
        is_error=observation.is_error,
    )


def build_server(bridge: ToolBridge) -> Server[Any]:
    """The low-level SDK server whose tools are the bridge's actions."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=bridge.tools())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        wants_progress = bool(params.meta and params.meta.get("progress_token") is not None)
        progress = ctx.session.report_progress if wants_progress else None
        return await bridge.call(params.name, dict(params.arguments or {}), progress)

    server: Server[Any] = Server("agentexec", version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)
    if not tracing_configured():
        server.middleware = [m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    return server


def tracing_configured() -> bool:
    """True when this process has an OpenTelemetry tracer provider (``opentelemetry-instrument``, or
    one set up by the host process): only then are the SDK's per-message spans recorded anywhere.

    Without one, the SDK's tracing middleware still builds a no-op span for every message, about a
    quarter of a millisecond per tool call on this machine (bench_mcp), so it is left out."""
    from opentelemetry import trace

    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


async def serve_stdio(bridge: ToolBridge) -> None:
    """Serve until the client closes stdin."""
    from agentexec.integrations.mcp_stdio import stdio_streams

    server = build_server(bridge)
    async with stdio_streams() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def session_result(bridge: ToolBridge, started: float, log_path: str, outcome: str = "finished") -> RunResult:
    """The log's final line: how many calls the session made and how it ended."""
    return RunResult(
        task_id="mcp",
        outcome=outcome,
        steps=bridge.calls,
        duration=time.monotonic() - started,
        passed=outcome == "finished",
        message=f"MCP session ended after {bridge.calls} tool calls",
        log_path=log_path,
    )
