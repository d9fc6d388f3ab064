"""Start-up time: how long ``agentexec --help`` takes, against ``python -c pass`` as the floor.

Every command is run ``--runs`` times (after two warm-up runs, so the file cache is hot) and the
median wall-clock time is reported. The console script is the one installed beside this Python
(not a pyenv or asdf shim, whose own bash start-up would be measured too). Target: ``agentexec
--help`` under 0.25 s. ``--imports`` also lists the slowest imports of ``agentexec --help``
(``python -X importtime``), to find what to make lazy.

    python benchmarks/bench_startup.py [--runs 20] [--imports]

Prints a table and writes ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
TARGET = 0.25


def commands() -> dict[str, list[str]]:
    """What is timed: the floor, typer alone (which the CLI needs), the console script, the module form."""
    script = Path(sys.executable).parent / "agentexec"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "agentexec"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "agentexec --help": [*cli, "--help"],
        "python -m agentexec --help": [sys.executable, "-m", "agentexec", "--help"],
        "agentexec --version": [*cli, "--version"],
    }


def wall_times(argv: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` runs; a failing command stops the benchmark."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    times = []
    for index in range(runs + 2):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
        if index >= 2:
            times.append(elapsed)
    return times


def slowest_imports(argv: list[str], count: int = 15) -> list[tuple[str, float]]:
    """Top-level imports of one run by cumulative time (seconds), slowest first."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and len(match.group(2)) <= 2:
            rows.append((match.group(2) + match.group(3), int(match.group(1)) / 1e6))
    return sorted(rows, key=lambda row: -row[1])[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (median reported)")
    parser.add_argument("--imports", action="store_true", help="also list the slowest imports of --help")
    options = parser.parse_args()

    rows = []
    floor = None
    for name, argv in commands().items():
        times = wall_times(argv, options.runs)
        median = statistics.median(times)
        floor = floor or median
        rows.append({"command": name, "argv": argv, "median_s": median, "min_s": min(times), "ratio": median / floor})

    print(f"{'command':<30} {'median':>9} {'min':>9} {'x floor':>8}")
    for row in rows:
        print(f"{row['command']:<30} {row['median_s']:>8.3f}s {row['min_s']:>8.3f}s {row['ratio']:>7.1f}x")
    help_time = next(row["median_s"] for row in rows if row["command"] == "agentexec --help")
    verdict = "meets" if help_time < TARGET else "MISSES"
    print(f"agentexec --help: {help_time:.3f} s median; {verdict} the {TARGET} s target")

    imports = []
    if options.imports:
        imports = slowest_imports(commands()["python -m agentexec --help"])
        print("\nslowest imports of --help (cumulative):")
        for name, seconds in imports:
            print(f"  {seconds * 1000:7.1f} ms  {name}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "startup",
                "runs": options.runs,
                "target_s": TARGET,
                "help_median_s": round(help_time, 4),
                "meets_target": help_time < TARGET,
                "rows": rows,
                "slowest_imports": [{"module": n.strip(), "cumulative_s": s} for n, s in imports],
                "python": sys.version.split()[0],
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results written to {RESULTS}")


if __name__ == "__main__":
    main()
