"""Replay speed: how many recorded actions per second ``agentexec replay`` re-executes.

Records a log of trivial actions with ``agentexec run`` (so the log is exactly what users get),
then replays it with the local runtime, ``--json`` to a file (no rich view), and times the whole
command from the outside. Trivial means the executor's own work is negligible, so the figure is
replay's overhead: reading and parsing the log, dispatching, recording the new log, writing the
JSON stream. Rows for ``run`` and ``write`` show where the executor's work (a bash round trip, a
file rename) dominates instead. Target: 1,000 actions/s or more for the trivial mix.

    python benchmarks/bench_replay.py [--actions 10000]

Prints a table and writes ``benchmarks/results/replay.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "replay.json"
TARGET = 1000.0


def trivial(index: int) -> dict[str, Any]:
    """Alternating ``message`` and ``read`` of a small file: the executor does next to nothing."""
    if index % 2:
        return {"action": "read", "args": {"path": "notes.txt"}}
    return {"action": "message", "args": {"content": f"step {index}"}}


MIXES = {
    "trivial (message, read)": trivial,
    "run true (bash round trip)": lambda index: {"action": "run", "args": {"command": "true"}},
    "write (atomic rename)": lambda index: {"action": "write", "args": {"path": "out.txt", "content": str(index)}},
}


def agentexec(*args: str, cwd: Path) -> None:
    """Run the CLI and fail loudly on a non-zero exit."""
    done = subprocess.run([sys.executable, "-m", "agentexec", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"agentexec {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")


def record(directory: Path, name: str, make: Any, count: int) -> Path:
    """Record ``count`` actions of one mix with ``agentexec run``; returns the log."""
    workspace = directory / f"{name}-ws"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("one line\n")
    actions = [make(index) for index in range(count)]
    task = {"id": name, "workspace": str(workspace), "actions": actions, "max_iterations": count + 1}
    task_file = directory / f"{name}.json"
    task_file.write_text(json.dumps(task))
    log = directory / f"{name}.jsonl"
    agentexec("run", str(task_file), "--json", "--log", str(log), cwd=directory)
    return log


def replay(directory: Path, log: Path, *extra: str) -> dict[str, Any]:
    """Replay a log into a workspace holding the same starting file; the rate counts the whole command."""
    workspace = Path(tempfile.mkdtemp(dir=directory))
    (workspace / "notes.txt").write_text("one line\n")
    out = directory / "replay-stdout.jsonl"
    new_log = directory / f"replay-{log.stem}.jsonl"
    args = ["replay", str(log), "--json", "--workspace", str(workspace), "--log", str(new_log), *extra]
    with open(out, "w") as stdout:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "agentexec", *args], cwd=directory, stdout=stdout, text=True)
        elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"agentexec {' '.join(args)} exited {done.returncode}")
    result = json.loads(out.read_text().splitlines()[-1])["result"]
    replayed = result["steps"]
    return {
        "actions": replayed,
        "seconds": round(elapsed, 3),
        "actions_per_s": round(replayed / elapsed, 1),
        "loop_seconds": result["duration"],
        "loop_actions_per_s": round(replayed / result["duration"], 1) if result["duration"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=10_000, help="actions in the trivial log")
    parser.add_argument("--other", type=int, default=1_000, help="actions in the run and write logs")
    options = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="agentexec-bench-") as tmp:
        directory = Path(tmp)
        for index, (label, make) in enumerate(MIXES.items()):
            count = options.actions if index == 0 else options.other
            log = record(directory, f"mix{index}", make, count)
            rows.append({"mix": label, "verify": False, **replay(directory, log)})
            if index == 0:
                rows.append({"mix": label, "verify": True, **replay(directory, log, "--verify")})
    print(f"{'mix':<28} {'verify':<7} {'actions':>8} {'wall s':>8} {'actions/s':>10} {'loop actions/s':>15}")
    for row in rows:
        print(
            f"{row['mix']:<28} {'yes' if row['verify'] else 'no':<7} {row['actions']:>8} {row['seconds']:>8.2f} "
            f"{row['actions_per_s']:>10.0f} {row['loop_actions_per_s'] or 0:>15.0f}"
        )
    headline = rows[0]["actions_per_s"]
    verdict = "met" if headline >= TARGET else "NOT met"
    print(f"trivial replay: {headline:.0f} actions/s (target {TARGET:.0f}): {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()}
    RESULTS.write_text(json.dumps({"target_actions_per_s": TARGET, "machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"written {RESULTS}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
