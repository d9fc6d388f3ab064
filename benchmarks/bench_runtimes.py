"""What carrying actions out of process costs: ``process`` and ``sandbox`` against ``local``.

Per-action round trip, measured with ``Runtime.execute`` from Python so the figure is the
runtime's own overhead (JSON lines over pipes, the server's threads), on two actions where the
executor's work is small: ``run true`` (a bash round trip) and ``read`` of a small file. Also the
start time of each runtime: ``connect()`` until the executor answers (for remote runtimes that
is a new Python, the imports, the executor's bash session and the ``hello`` exchange).
Targets: under 1 ms added per action at the median; the sandbox ready in under 0.3 s.

    python benchmarks/bench_runtimes.py [--actions 300] [--starts 7]

Prints a table and writes ``benchmarks/results/runtimes.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import agentexec

RESULTS = Path(__file__).resolve().parent / "results" / "runtimes.json"
ADDED_TARGET_MS = 1.0
SANDBOX_START_TARGET_S = 0.3
ACTIONS = {
    "run true": {"action": "run", "args": {"command": "true"}},
    "read small file": {"action": "read", "args": {"path": "notes.txt"}},
}


def runtimes() -> list[str]:
    """local and process always; sandbox where bubblewrap can create its namespaces."""
    names = ["local", "process"]
    if shutil.which("bwrap") and subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"]).returncode == 0:
        names.append("sandbox")
    return names


def start_times(runtime: str, workspace: Path, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        rt = agentexec.connect(runtime=runtime, workspace=workspace)
        times.append(time.perf_counter() - started)
        rt.close()
    return times


def round_trips(runtime: str, workspace: Path, count: int) -> dict[str, list[float]]:
    """Seconds per action for each kind, interleaved so drifting machine load hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in ACTIONS}
    with agentexec.connect(runtime=runtime, workspace=workspace) as rt:
        for action in ACTIONS.values():  # warm-up: first-call imports and caches
            for _ in range(10):
                rt.execute(action)
        for _ in range(count):
            for name, action in ACTIONS.items():
                started = time.perf_counter()
                observation = rt.execute(action)
                samples[name].append(time.perf_counter() - started)
                if observation.is_error:
                    raise SystemExit(f"{runtime}: {name} failed: {observation.content}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=300, help="timed actions of each kind per runtime")
    parser.add_argument("--starts", type=int, default=7, help="timed starts per runtime")
    options = parser.parse_args()

    load_at_start = os.getloadavg()  # the machine is shared: start times move with its load
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="agentexec-bench-") as scratch:
        workspace = Path(scratch) / "ws"
        workspace.mkdir()
        (workspace / "notes.txt").write_text("one line\n" * 20)
        for runtime in runtimes():
            starts = start_times(runtime, workspace, options.starts)
            trips = round_trips(runtime, workspace, options.actions)
            rows[runtime] = {
                "start_median_s": statistics.median(starts),
                **{f"{name} median_ms": statistics.median(values) * 1000 for name, values in trips.items()},
            }

    local = rows["local"]
    for row in rows.values():
        for name in ACTIONS:
            row[f"{name} added_ms"] = row[f"{name} median_ms"] - local[f"{name} median_ms"]
            row[f"{name} ratio"] = row[f"{name} median_ms"] / local[f"{name} median_ms"]

    header = f"{'runtime':<9} {'start':>8}"
    for name in ACTIONS:
        header += f" | {name + ' median':>22} {'added':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for runtime, row in rows.items():
        line = f"{runtime:<9} {row['start_median_s']:>7.3f}s"
        for name in ACTIONS:
            median, added, ratio = row[f"{name} median_ms"], row[f"{name} added_ms"], row[f"{name} ratio"]
            line += f" | {median:>20.3f}ms {added:>+7.3f}ms {ratio:>5.2f}x"
        print(line)

    remote = [r for r in rows if r != "local"]
    verdict = {
        "added_per_action_under_1ms": all(rows[r][f"{n} added_ms"] < ADDED_TARGET_MS for r in remote for n in ACTIONS),
        "sandbox_start_under_0.3s": rows["sandbox"]["start_median_s"] < SANDBOX_START_TARGET_S
        if "sandbox" in rows
        else None,
    }
    print("targets:", ", ".join(f"{k}={v}" for k, v in verdict.items()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "runtimes",
                "actions_per_kind": options.actions,
                "starts": options.starts,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "cpus": len(os.sched_getaffinity(0)),
                "load_average_at_start": [round(load, 2) for load in load_at_start],
                "targets": {"added_ms": ADDED_TARGET_MS, "sandbox_start_s": SANDBOX_START_TARGET_S},
                "met": verdict,
                "rows": {r: {k: round(v, 4) for k, v in row.items()} for r, row in rows.items()},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
