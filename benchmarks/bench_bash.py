"""Benchmark agentexec's bash session against a raw pexpect floor and its peers, in one run.

    python benchmarks/bench_bash.py [--rounds 5] [--no-peers]

Backends: ``floor`` (a minimal raw pexpect bash with a unique prompt), ``subprocess`` (one
``bash -c`` per command), ``agentexec`` (its BashSession), ``agentexec-connect`` (the whole
``agentexec.connect()`` action path, local runtime), ``swe-rex`` (SWE-ReX's LocalRuntime) and
``mini-swe-agent`` (its LocalEnvironment). The two peers are installed into their own venv,
``benchmarks/.venv-peers``, never into the project's dependencies. Every backend lives in its own
driver process (``bash_driver.py``) that measures itself; rounds interleave the backends in a
shuffled order so that drift on a shared machine hits all of them alike.

Measured: session start; round trips of ``echo hi`` (200 per backend, median and p95); a 10 MB
output (wall time, peak RSS growth of the process holding the session); timeout recovery
(``sleep 30`` with a 1 s timeout, then C-c or the backend's own recovery, then ``echo ok``).
Prints a table with ratios to the floor and writes ``benchmarks/results/bash.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".venv-peers"
PEER_PACKAGES = ["swe-rex", "mini-swe-agent"]
OURS = ["floor", "subprocess", "agentexec", "agentexec-connect"]
PEERS = ["swe-rex", "mini-swe-agent"]
ROUNDTRIPS = 200
TIMEOUT = 1.0

TARGETS = {
    "roundtrip_vs_floor": 1.5,  # median round trip within 1.5x of the floor
    "big_seconds": 1.0,  # 10 MB in under 1 s
    "big_rss_mb": 50.0,  # with peak RSS growth under 50 MB
    "timeout_overhead": 0.2,  # recovery within 0.2 s of the timeout
}


def peers_python() -> Path:
    """The peers' venv interpreter, creating the venv and installing the peers on first use."""
    python = PEERS_VENV / "bin" / "python"
    probe = [str(python), "-c", "import swerex.runtime.local, minisweagent.environments.local"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"installing {', '.join(PEER_PACKAGES)} into {PEERS_VENV} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True)
    return python


class Driver:
    """A backend's driver process; ``ask`` sends one request and returns its reply."""

    def __init__(self, name: str, python: Path, workdir: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [str(python), str(HERE / "bash_driver.py"), name],
            cwd=workdir,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"{self.name} {op}: {reply['error']}")
        return reply

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(
    names: list[str], pythons: dict[str, Path], rounds: int, workdir: Path, timeouts: bool = True
) -> dict[str, dict[str, list]]:
    """Run every measurement ``rounds`` times, backends shuffled in each round (``timeouts``: the recovery too)."""
    samples: dict[str, dict[str, list]] = {
        name: {"start": [], "roundtrip": [], "big_seconds": [], "big_rss": [], "big_chars": [], "timeout": []}
        for name in names
    }
    drivers = {name: Driver(name, pythons[name], workdir) for name in names}
    try:
        per_round = ROUNDTRIPS // rounds
        for round_no in range(rounds):
            order = random.sample(names, len(names))
            print(f"round {round_no + 1}/{rounds}: {' '.join(order)}", file=sys.stderr)
            for name in order:
                driver, sample = drivers[name], samples[name]
                sample["start"].append(driver.ask("start")["seconds"])
                driver.ask("roundtrips", n=5)  # warm-up, not counted
                sample["roundtrip"] += driver.ask("roundtrips", n=per_round)["times"]
                big = driver.ask("big")
                sample["big_seconds"].append(big["seconds"])
                sample["big_rss"].append(big["rss_growth"])
                sample["big_chars"].append(big["chars"])
                if timeouts:
                    recovery = driver.ask("timeout")
                    if not recovery["ok"]:
                        raise RuntimeError(f"{name}: 'echo ok' after the timeout did not print ok")
                    sample["timeout"].append(recovery["seconds"])
                driver.ask("close")
    finally:
        for driver in drivers.values():
            driver.stop()
    return samples


def summarise(samples: dict[str, dict[str, list]]) -> dict[str, dict[str, float]]:
    """Medians (p95 for round trips too) per backend; memory in MB."""
    summary = {}
    for name, sample in samples.items():
        trips = sorted(sample["roundtrip"])
        summary[name] = {
            "start_ms": statistics.median(sample["start"]) * 1000,
            "roundtrip_median_ms": statistics.median(trips) * 1000,
            "roundtrip_p95_ms": trips[int(len(trips) * 0.95) - 1] * 1000,
            "big_seconds": statistics.median(sample["big_seconds"]),
            "big_rss_mb": max(sample["big_rss"]) / 1e6,
            "big_chars": statistics.median(sample["big_chars"]),
            "timeout_seconds": statistics.median(sample["timeout"]) if sample["timeout"] else None,
            "timeout_overhead": statistics.median(sample["timeout"]) - TIMEOUT if sample["timeout"] else None,
        }
    return summary


def table(summary: dict[str, dict[str, float]]) -> str:
    """The results as a Markdown table, with round trips and 10 MB times as ratios to the floor."""
    floor = summary["floor"]
    lines = [
        "| backend | start ms | round trip median ms (x floor) | p95 ms | 10 MB s (x floor) | peak RSS +MB | "
        "timeout recovery s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in summary.items():
        trip_ratio = row["roundtrip_median_ms"] / floor["roundtrip_median_ms"]
        big_ratio = row["big_seconds"] / floor["big_seconds"]
        lines.append(
            f"| {name} | {row['start_ms']:.1f} | {row['roundtrip_median_ms']:.3f} ({trip_ratio:.2f}x) | "
            f"{row['roundtrip_p95_ms']:.3f} | {row['big_seconds']:.3f} ({big_ratio:.2f}x) | {row['big_rss_mb']:.1f} | "
            + (f"{row['timeout_seconds']:.3f} |" if row["timeout_seconds"] is not None else "skipped |")
        )
    return "\n".join(lines)


def verdicts(summary: dict[str, dict[str, float]]) -> dict[str, bool]:
    """Each target of issue 3, for agentexec's session and for the connect() path."""
    floor = summary["floor"]["roundtrip_median_ms"]
    results = {}
    for name in ("agentexec", "agentexec-connect"):
        row = summary[name]
        peers = [summary[peer]["roundtrip_median_ms"] for peer in PEERS + ["subprocess"] if peer in summary]
        trip = row["roundtrip_median_ms"]
        results[f"{name}: round trip <= 1.5x floor"] = trip <= TARGETS["roundtrip_vs_floor"] * floor
        results[f"{name}: round trip faster than every peer"] = all(trip < peer for peer in peers)
        results[f"{name}: 10 MB < 1 s"] = row["big_seconds"] < TARGETS["big_seconds"]
        results[f"{name}: 10 MB peak RSS growth < 50 MB"] = row["big_rss_mb"] < TARGETS["big_rss_mb"]
        if row["timeout_overhead"] is not None:
            results[f"{name}: timeout recovery within 0.2 s"] = row["timeout_overhead"] <= TARGETS["timeout_overhead"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (round trips are split over them)")
    parser.add_argument("--no-peers", action="store_true", help="skip SWE-ReX and mini-swe-agent")
    parser.add_argument(
        "--no-timeout", action="store_true", help="skip the timeout recovery (older agentexec commits fail it)"
    )
    parser.add_argument("--output", type=Path, default=HERE / "results" / "bash.json")
    args = parser.parse_args()
    pythons = {name: Path(sys.executable) for name in OURS}
    if not args.no_peers:
        peer = peers_python()
        pythons.update({name: peer for name in PEERS})
    with tempfile.TemporaryDirectory(prefix="bench-bash-") as workdir:
        samples = measure(list(pythons), pythons, args.rounds, Path(workdir), timeouts=not args.no_timeout)
    summary = summarise(samples)
    print(table(summary))
    checks = verdicts(summary)
    for check, passed in checks.items():
        print(f"{'PASS' if passed else 'MISS'}  {check}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "rounds": args.rounds,
                "roundtrips_per_backend": ROUNDTRIPS,
                "summary": summary,
                "targets": checks,
                "samples": samples,
            },
            indent=1,
        )
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
