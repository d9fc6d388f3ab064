"""Benchmark ``agentexec mcp`` over stdio against the same action through ``agentexec.connect()``.

    python benchmarks/bench_mcp.py [--calls 200] [--rounds 3] [--memory-calls 1000]

Reference: ``rt.execute(run "true")`` on a started local runtime from ``agentexec.connect()``, in
this process. Measured: the same ``run true`` as an MCP ``tools/call`` from the official SDK's
stdio client to an ``agentexec mcp`` subprocess (JSON-RPC both ways, the event log written).
A third timing sends the same ``tools/call`` as bare JSON lines over the server's pipes, to
tell the server's share from the SDK client's (the SDK client is the heavier half on this
machine). Rounds alternate the backends so drift on a shared machine hits all alike. Then 1,000 sequential MCP calls,
with the server's resident memory (VmRSS, from /proc) read after a warm-up and at the end.
Prints medians, the per-call overhead and the memory growth; writes ``benchmarks/results/mcp.json``.
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


def server_params(workspace: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    args = ["-m", "agentexec", "mcp", "--runtime", "local", "--workspace", str(workspace)]
    return StdioServerParameters(
        command=sys.executable, args=[*args, "--log", str(workspace.parent / f"{workspace.name}.jsonl")], env=env
    )


def raw_pipe_times(workspace: Path, calls: int) -> list[float]:
    """``tools/call`` as bare JSON lines on the server's stdin/stdout: the server's cost without the SDK client's."""
    params = server_params(workspace)
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
    for n in range(1, calls + 21):
        started = time.perf_counter()
        send({"id": n, "method": "tools/call", "params": call})
        reply = json.loads(stdout.readline())
        if n > 20:  # the first 20 are a warm-up
            times.append(time.perf_counter() - started)
        assert reply.get("id") == n and not reply["result"]["isError"], reply
    stdin.close()
    proc.wait(timeout=30)
    return times


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


async def mcp_session(workspace: Path, calls: int, memory_calls: int) -> dict[str, Any]:
    async with stdio_client(server_params(workspace)) as (read, write), ClientSession(read, write) as session:
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
    opts = parser.parse_args()
    connect_all: list[float] = []
    mcp_all: list[float] = []
    raw_all: list[float] = []
    memory: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        for round_no in range(opts.rounds):
            workspace = Path(tmp) / f"ws{round_no}"
            workspace.mkdir()
            connect_all += connect_times(workspace, opts.calls)
            last = round_no == opts.rounds - 1
            got = anyio.run(mcp_session, workspace, opts.calls, opts.memory_calls if last else 0)
            mcp_all += got["times"]
            raw_workspace = Path(tmp) / f"raw{round_no}"
            raw_workspace.mkdir()
            raw_all += raw_pipe_times(raw_workspace, opts.calls)
            memory = got.get("memory", memory)
    connect_ms = statistics.median(connect_all) * 1000
    mcp_ms = statistics.median(mcp_all) * 1000
    raw_ms = statistics.median(raw_all) * 1000
    added = mcp_ms - connect_ms
    server_added = raw_ms - connect_ms
    growth = memory["rss_after_mb"] - memory["rss_before_mb"] if memory else float("nan")
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "calls_per_backend": len(connect_all),
        "connect_median_ms": round(connect_ms, 3),
        "connect_p95_ms": round(statistics.quantiles(connect_all, n=20)[18] * 1000, 3),
        "mcp_stdio_median_ms": round(mcp_ms, 3),
        "mcp_stdio_p95_ms": round(statistics.quantiles(mcp_all, n=20)[18] * 1000, 3),
        "ratio_mcp_to_connect": round(mcp_ms / connect_ms, 3),
        "added_ms_per_call": round(added, 3),
        "raw_pipe_median_ms": round(raw_ms, 3),
        "server_added_ms_per_call": round(server_added, 3),
        "memory": {**memory, "growth_mb": round(growth, 2)},
        "targets": TARGETS,
        "met": {
            "added_ms_per_call": added < TARGETS["added_ms_per_call"],
            "server_added_ms_per_call": server_added < TARGETS["added_ms_per_call"],
            "memory_growth_mb": growth < TARGETS["memory_growth_mb"],
        },
    }
    print(f"run true via agentexec.connect(): median {connect_ms:.3f} ms (reference)")
    print(f"run true via stdio MCP:           median {mcp_ms:.3f} ms ({mcp_ms / connect_ms:.2f}x)")
    print(f"run true via bare JSON lines:     median {raw_ms:.3f} ms ({raw_ms / connect_ms:.2f}x)")
    print(f"added per call, SDK client: {added:.3f} ms; server alone: {server_added:.3f} ms", end="")
    print(f" (target < {TARGETS['added_ms_per_call']} ms)")
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
