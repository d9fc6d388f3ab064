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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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

    async def call(self, name: str, arguments: dict[str, Any], progress: Any) -> types.CallToolResult:
        """One tool call: refused with ``isError`` when unknown or oversized, else executed and recorded."""
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

    async def _execute(self, act: Action, progress: Any) -> Observation:
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[str | None] = asyncio.Queue()

        def on_output(text: str) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, text)

        def work() -> Observation:
            try:
                return execute(self.runtime, StreamingRecorder(self.recorder, on_output), act)
            finally:
                loop.call_soon_threadsafe(chunks.put_nowait, None)

        done = self._worker.submit(work)
        try:
            await self._stream(chunks, progress)
        except anyio.get_cancelled_exc_class():
            self.runtime.interrupt()  # the client cancelled: Ctrl-C, then let the action record its end
            with anyio.CancelScope(shield=True):
                await asyncio.wrap_future(done)
            raise
        return await asyncio.wrap_future(done)

    @staticmethod
    async def _stream(chunks: asyncio.Queue[str | None], progress: Any) -> None:
        sent = 0
        while (text := await chunks.get()) is not None:
            sent += len(text)
            await progress(float(sent), None, text)


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
        return await bridge.call(params.name, dict(params.arguments or {}), ctx.session.report_progress)

    return Server("agentexec", version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)


async def serve_stdio(bridge: ToolBridge) -> None:
    """Serve until the client closes stdin."""
    from mcp.server.stdio import stdio_server

    server = build_server(bridge)
    async with stdio_server() as (read_stream, write_stream):
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
