"""Benchmark ``agentexec mcp`` over stdio against the same action through ``agentexec.connect()``.

    python benchmarks/bench_mcp.py [--calls 200] [--rounds 3] [--memory-calls 1000]

Reference: ``rt.execute(run "true")`` on a started local runtime from ``agentexec.connect()``, in
this process. Measured: the same ``run true`` as an MCP ``tools/call`` from the official SDK's
stdio client to an ``agentexec mcp`` subprocess (JSON-RPC both ways, the event log written).
A third timing sends the same ``tools/call`` as bare JSON lines over the server's pipes, to
tell the server's share from the SDK client's (the SDK client is the heavier half on this
machine). The SDK's own floor: a minimal server of the SDK (its low-level ``Server`` on its own
``stdio_server``, one tool that does nothing: ``python benchmarks/bench_mcp.py --serve-noop``),
called by the same SDK client and by the same bare JSON lines; what a call to it costs is what
any server built on the SDK pays before running anything. Rounds alternate the backends so drift
on a shared machine hits all alike. Then 1,000 sequential MCP calls, with the server's resident
memory (VmRSS, from /proc) read after a warm-up and at the end. Prints medians, the per-call
overhead and the memory growth; writes ``benchmarks/results/mcp.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

import agentexec

HERE = Path(__file__).resolve().parent
TARGETS = {"added_ms_per_call": 2.0, "memory_growth_mb": 10.0}
RUN_TRUE = {"command": "true"}


def connect_times(workspace: Path, calls: int) -> list[float]:
    with agentexec.connect(runtime="local", workspace=workspace) as rt:
        rt.execute({"action": "run", "args": RUN_TRUE})  # warm-up
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            rt.execute({"action": "run", "args": RUN_TRUE})
            times.append(time.perf_counter() - started)
    return times


def server_params(workspace: Path, noop: bool = False) -> StdioServerParameters:
    """``agentexec mcp`` on a local runtime in ``workspace``, or (``noop``) the SDK's minimal server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    if noop:
        return StdioServerParameters(command=sys.executable, args=[__file__, "--serve-noop"], env=env)
    args = ["-m", "agentexec", "mcp", "--runtime", "local", "--workspace", str(workspace)]
    return StdioServerParameters(
        command=sys.executable, args=[*args, "--log", str(workspace.parent / f"{workspace.name}.jsonl")], env=env
    )


def serve_noop() -> None:
    """The SDK's floor: its low-level server on its own stdio transport, one tool that does nothing."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    schema = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="run", input_schema=schema)])

    async def call_tool(ctx: Any, params: Any) -> types.CallToolResult:
        return types.CallToolResult(content=[types.TextContent(type="text", text="")], is_error=False)

    async def serve() -> None:
        server = Server("noop", on_list_tools=list_tools, on_call_tool=call_tool)
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(serve)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_pipe_times(workspace: Path, calls: int, noop: bool = False) -> tuple[list[float], float]:
    """``tools/call`` as bare JSON lines on the server's stdin/stdout: the server's cost without the
    SDK client's. Returns the wall times and the server's CPU seconds over the timed calls (what it
    costs whatever the machine's load; wall time adds the waits for a free core)."""
    params = server_params(workspace, noop)
    proc = subprocess.Popen(
        [params.command, *params.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=params.env, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def send(message: dict[str, Any]) -> None:
        stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        stdin.flush()

    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}
    send({"id": 0, "method": "initialize", "params": hello})
    json.loads(stdout.readline())
    send({"method": "notifications/initialized", "params": {}})
    call = {"name": "run", "arguments": RUN_TRUE}
    times = []
    cpu_start = 0.0
    for n in range(1, calls + 21):
        if n == 21:  # the first 20 are a warm-up
            cpu_start = cpu_seconds(proc.pid)
        started = time.perf_counter()
        send({"id": n, "method": "tools/call", "params": call})
        reply = json.loads(stdout.readline())
        if n > 20:
            times.append(time.perf_counter() - started)
        assert reply.get("id") == n and not reply["result"]["isError"], reply
    cpu = cpu_seconds(proc.pid) - cpu_start
    stdin.close()
    proc.wait(timeout=30)
    return times, cpu


def server_rss_mb() -> float:
    """Resident memory of this process's ``agentexec mcp`` child, from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"mcp" in cmdline and b"agentexec" in cmdline:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise RuntimeError("the agentexec mcp server process was not found under /proc")


async def mcp_session(workspace: Path, calls: int, memory_calls: int, noop: bool = False) -> dict[str, Any]:
    params = server_params(workspace, noop)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for _ in range(20):  # warm-up
            await session.call_tool("run", RUN_TRUE)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            result = await session.call_tool("run", RUN_TRUE)
            times.append(time.perf_counter() - started)
            assert not result.is_error, result
        out: dict[str, Any] = {"times": times}
        if memory_calls:
            before = server_rss_mb()
            started = time.perf_counter()
            for _ in range(memory_calls):
                await session.call_tool("run", RUN_TRUE)
            out["memory"] = {
                "calls": memory_calls,
                "seconds": time.perf_counter() - started,
                "rss_before_mb": round(before, 2),
                "rss_after_mb": round(server_rss_mb(), 2),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-calls", type=int, default=1000)
    parser.add_argument("--serve-noop", action="store_true", help="be the SDK's minimal server (used by the benchmark)")
    opts = parser.parse_args()
    if opts.serve_noop:
        serve_noop()
        return
    times: dict[str, list[float]] = {name: [] for name in ("connect", "mcp", "raw", "floor_mcp", "floor_raw")}
    cpu = {"raw": 0.0, "floor_raw": 0.0, "connect": 0.0}
    memory: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        for round_no in range(opts.rounds):
            workspace = Path(tmp) / f"ws{round_no}"
            workspace.mkdir()
            cpu_start = time.process_time()
            times["connect"] += connect_times(workspace, opts.calls)
            cpu["connect"] += time.process_time() - cpu_start  # bash's own share is not counted, as for the others
            last = round_no == opts.rounds - 1
            got = anyio.run(mcp_session, workspace, opts.calls, opts.memory_calls if last else 0)
            times["mcp"] += got["times"]
            memory = got.get("memory", memory)
            raw_workspace = Path(tmp) / f"raw{round_no}"
            raw_workspace.mkdir()
            for name, noop in (("raw", False), ("floor_raw", True)):
                wall, cpu_seconds_used = raw_pipe_times(raw_workspace, opts.calls, noop)
                times[name] += wall
                cpu[name] += cpu_seconds_used
            times["floor_mcp"] += anyio.run(mcp_session, workspace, opts.calls, 0, True)["times"]
    median = {name: statistics.median(values) * 1000 for name, values in times.items()}
    p95 = {name: statistics.quantiles(values, n=20)[18] * 1000 for name, values in times.items()}
    connect_ms, mcp_ms, raw_ms = median["connect"], median["mcp"], median["raw"]
    added = mcp_ms - connect_ms
    server_added = raw_ms - connect_ms
    growth = memory["rss_after_mb"] - memory["rss_before_mb"] if memory else float("nan")
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "load_average": os.getloadavg(),
        "calls_per_backend": len(times["connect"]),
        "connect_median_ms": round(connect_ms, 3),
        "connect_p95_ms": round(p95["connect"], 3),
        "mcp_stdio_median_ms": round(mcp_ms, 3),
        "mcp_stdio_p95_ms": round(p95["mcp"], 3),
        "ratio_mcp_to_connect": round(mcp_ms / connect_ms, 3),
        "added_ms_per_call": round(added, 3),
        "raw_pipe_median_ms": round(raw_ms, 3),
        "server_added_ms_per_call": round(server_added, 3),
        "sdk_floor": {
            "what": "the SDK's low-level Server on its stdio_server, a tool that does nothing",
            "sdk_client_median_ms": round(median["floor_mcp"], 3),
            "raw_pipe_median_ms": round(median["floor_raw"], 3),
            "ours_added_minus_floor_sdk_client_ms": round(added - median["floor_mcp"], 3),
            "ours_added_minus_floor_raw_pipe_ms": round(server_added - median["floor_raw"], 3),
        },
        "cpu_ms_per_call": {name: round(value * 1000 / len(times[name]), 3) for name, value in cpu.items()},
        "memory": {**memory, "growth_mb": round(growth, 2)},
        "targets": TARGETS,
        "met": {
            "added_ms_per_call": added < TARGETS["added_ms_per_call"],
            "server_added_ms_per_call": server_added < TARGETS["added_ms_per_call"],
            "memory_growth_mb": growth < TARGETS["memory_growth_mb"],
        },
    }
    print(f"machine load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"run true via agentexec.connect(): median {connect_ms:.3f} ms (reference)")
    print(f"run true via stdio MCP:           median {mcp_ms:.3f} ms ({mcp_ms / connect_ms:.2f}x)")
    print(f"run true via bare JSON lines:     median {raw_ms:.3f} ms ({raw_ms / connect_ms:.2f}x)")
    print(f"added per call, SDK client: {added:.3f} ms; server alone: {server_added:.3f} ms", end="")
    print(f" (target < {TARGETS['added_ms_per_call']} ms)")
    print(
        f"SDK floor (no-op tool on the SDK's own server): SDK client {median['floor_mcp']:.3f} ms, "
        f"bare JSON lines {median['floor_raw']:.3f} ms; ours over it: "
        f"{added - median['floor_mcp']:+.3f} ms (SDK client), {server_added - median['floor_raw']:+.3f} ms (bare)"
    )
    per_call = {name: value * 1000 / len(times[name]) for name, value in cpu.items()}
    print(
        f"CPU per call: connect() process {per_call['connect']:.3f} ms, agentexec mcp server "
        f"{per_call['raw']:.3f} ms, SDK floor server {per_call['floor_raw']:.3f} ms"
    )
    if memory:
        print(
            f"{memory['calls']} sequential MCP calls in {memory['seconds']:.2f} s: server RSS "
            f"{memory['rss_before_mb']} -> {memory['rss_after_mb']} MB, growth {growth:.2f} MB "
            f"(target < {TARGETS['memory_growth_mb']} MB)"
        )
    out = HERE / "results" / "mcp.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
