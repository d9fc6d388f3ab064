"""The stdio transport of ``agentexec mcp``: the SDK's messages and server, the pipes read on the event loop.

The SDK's ``stdio_server`` reads each line and writes and flushes each reply in anyio's worker
threads: three thread hops per tool call, the larger part of the server's own cost for a quick
action (``benchmarks/bench_mcp.py`` measures it). When stdin and stdout are pipes, sockets or
terminals (what every MCP host gives its servers), this transport reads and writes them with the
event loop's non-blocking pipe transports instead; anything else (a regular file as stdin, say)
gets the SDK's own transport. Messages are parsed and serialised exactly as the SDK does, with its
types. Like the SDK's, it moves fd 0 and fd 1 away while serving (fd 0 reads ``/dev/null``, fd 1
goes to stderr), so a ``print`` in an executor or a child that inherits them cannot corrupt the
wire, and puts them back when the session ends.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.shared.message import SessionMessage

#: No line limit of our own, as the SDK's transport has none: the bridge refuses oversized
#: arguments by name (``--max-request-bytes``), which a cut-off line could not be.
LINE_LIMIT = 2**31


def _streamable(fd: int) -> bool:
    """True when the event loop can watch ``fd``: a pipe, a socket or a terminal."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[tuple[Any, Any]]:
    """``(read_stream, write_stream)`` of the process's stdin and stdout, for ``Server.run``."""
    if not (_streamable(0) and _streamable(1)):
        from mcp.server.stdio import stdio_server

        async with stdio_server() as streams:
            yield streams
        return
    wire_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    wire_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0, closefd=False)
    )
    write_transport, write_protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", buffering=0, closefd=False)
    )
    write_transport.set_write_buffer_limits(high=0)  # drain() returns once a reply is in the pipe
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    incoming_send, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_receive = anyio.create_memory_object_stream[SessionMessage](0)
    written = anyio.Event()

    async def read_lines() -> None:
        async with incoming_send:
            while line := await reader.readline():
                try:
                    message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                except Exception as exc:  # the SDK's transport hands a bad line on the same way
                    await incoming_send.send(exc)
                    continue
                await incoming_send.send(SessionMessage(message))

    async def write_lines() -> None:
        try:
            async with outgoing_receive:
                async for session_message in outgoing_receive:
                    text = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    writer.write(text.encode() + b"\n")
                    await writer.drain()
        except ConnectionError:  # the client went away: its closed stdin ends the session
            pass
        finally:
            written.set()

    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read_lines)
            tasks.start_soon(write_lines)
            yield incoming, outgoing
            outgoing.close()  # the server is done: the writer sends what it holds, then ends
            with anyio.move_on_after(5):
                await written.wait()
            tasks.cancel_scope.cancel()
    finally:
        read_transport.close()
        write_transport.abort()  # whatever could be written has been; the pipe may be gone
        for wire, fd in ((wire_in, 0), (wire_out, 1)):
            os.set_blocking(wire, True)
            os.dup2(wire, fd)
            os.close(wire)
