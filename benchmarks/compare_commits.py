"""The same benchmarks against two commits in one run: did a change make anything slower?

    python benchmarks/compare_commits.py BEFORE AFTER [--rounds 3] [--no-ray]

Each commit is exported (``git archive``) to a scratch directory and imported from there through
``PYTHONPATH``, with this venv's interpreter and installed dependencies for both, so the code is
the only difference. The benchmark scripts are this checkout's (``bench_bash``, ``bench_runtimes``,
``bench_replay``, ``bench_batch``), copied beside each export so their JSON lands there and not in
``benchmarks/results``. The machine may be shared: rounds alternate the order (before, after;
after, before; ...) so that drifting load hits both alike, and each figure is the best of the
rounds. Each benchmark's total CPU time (its processes' user + system seconds) is reported too:
the benchmarks do a fixed amount of work, and CPU time moves far less with a busy machine than
wall time does. Prints after/before ratios (above 1 is slower) and writes
``benchmarks/results/<--name>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCRIPTS = ["bash_driver.py", "bench_bash.py", "bench_runtimes.py", "bench_replay.py", "bench_batch.py"]
#: A ratio above this counts as a regression worth a look rather than noise on a shared machine.
NOISE = 1.10

Figures = dict[str, float]
#: Attempts per measurement: a benchmark that fails (a step timing out on a loaded machine) is run again.
ATTEMPTS = 3


#: The benchmark's CPU seconds, its own and its waited-for children's: the same work costs the same CPU
#: however busy the machine is, so this moves far less with the load than wall times do.
CPU_KEY = "cpu_seconds_of_the_whole_benchmark"


class BenchFailed(Exception):
    """A benchmark script wrote no figures."""


def measure(tree: Path, script: str, args: list[str], failures: list[str]) -> dict[str, Any]:
    """``run_bench``, again after a failure (each failure is kept for the report)."""
    for attempt in range(ATTEMPTS):
        try:
            return run_bench(tree, script, *args)
        except BenchFailed as exc:
            failures.append(str(exc).splitlines()[0] + " :: " + str(exc).strip().splitlines()[-1])
            print(f"  {failures[-1]} (attempt {attempt + 1} of {ATTEMPTS})", flush=True)
    raise SystemExit(f"{script} failed {ATTEMPTS} times for {tree.name}")


def export(commit: str, root: Path) -> Path:
    """``commit``'s tree under ``root``, with this checkout's benchmark scripts beside it."""
    target = root / commit.replace("/", "_")
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        tree.extractall(target, filter="data")
    bench = target / "bench"
    bench.mkdir()
    for name in SCRIPTS:
        shutil.copy2(HERE / name, bench / name)
    return target


def run_bench(tree: Path, script: str, *args: str) -> dict[str, Any]:
    """Run one benchmark with ``tree``'s agentexec; its JSON result."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("PYTHONSAFEPATH", None)
    named = {"bench_runtimes.py": "runtimes", "bench_replay.py": "replay", "bench_batch.py": "batch"}
    result = tree / "bench" / "results" / f"{named.get(script, 'bash')}.json"
    result.parent.mkdir(exist_ok=True)
    result.unlink(missing_ok=True)
    extra = ["--output", str(result)] if script == "bench_bash.py" else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="agentexec-compare-") as cwd:  # never the checkout: '' on sys.path
        done = subprocess.run(
            [sys.executable, str(tree / "bench" / script), *args, *extra],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
    if not result.exists():  # a missed target exits 1 after writing its figures; no figures is a failure
        raise BenchFailed(f"{script} failed for {tree.name}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data: dict[str, Any] = json.loads(result.read_text())
    data[CPU_KEY] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return data


def bash_figures(data: dict[str, Any]) -> Figures:
    summary = data["summary"]
    figures = {}
    for backend in ("agentexec", "agentexec-connect"):
        row = summary[backend]
        figures[f"bash {backend}: round trip median ms"] = row["roundtrip_median_ms"]
        figures[f"bash {backend}: start ms"] = row["start_ms"]
        figures[f"bash {backend}: 10 MB output s"] = row["big_seconds"]
    figures["bash floor (raw pexpect): round trip median ms"] = summary["floor"]["roundtrip_median_ms"]
    return figures


def runtime_figures(data: dict[str, Any]) -> Figures:
    figures = {}
    for runtime, row in data["rows"].items():
        for key in ("run true median_ms", "read small file median_ms"):
            figures[f"runtime {runtime}: {key.replace('_ms', ' ms')}"] = row[key]
        figures[f"runtime {runtime}: start median s"] = row["start_median_s"]
    return figures


def replay_figures(data: dict[str, Any]) -> Figures:
    return {
        f"replay {row['mix']}{' --verify' if row['verify'] else ''}: s per 1000 actions": row["seconds"]
        * 1000
        / row["actions"]
        for row in data["rows"]
    }


def batch_figures(data: dict[str, Any]) -> Figures:
    keep = ("wall_1_worker_s", "wall_2_workers_s", "local_overhead_ms", "ray_wall_1_worker_s", "ray_overhead_ms")
    return {
        f"batch {key.replace('_s', ' s').replace('_ms', ' ms')}": data["figures"][key]
        for key in keep
        if key in data["figures"]
    }


def benches(options: argparse.Namespace) -> list[tuple[str, list[str], Callable[[dict[str, Any]], Figures]]]:
    return [
        # --no-timeout: 9ef7756's session fails the timeout recovery now and then (since fixed), and it is
        # none of the figures compared here
        ("bench_bash.py", ["--no-peers", "--no-timeout", "--rounds", "2"], bash_figures),
        ("bench_runtimes.py", ["--actions", "200", "--starts", "5"], runtime_figures),
        ("bench_replay.py", ["--actions", "3000", "--other", "300"], replay_figures),
        (
            "bench_batch.py",
            ["--tasks", str(options.tasks), "--repeat", "1", *(["--no-ray"] if options.no_ray else [])],
            batch_figures,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", help="the reference commit")
    parser.add_argument("after", help="the commit to check")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each figure is the best")
    parser.add_argument("--tasks", type=int, default=60, help="tasks per batch measurement")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine in the batch benchmark")
    parser.add_argument("--name", default="refactor_before_after", help="results file name, without .json")
    options = parser.parse_args()

    load_at_start = os.getloadavg()
    best: dict[str, dict[str, float]] = {"before": {}, "after": {}}
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="agentexec-commits-") as scratch:
        trees = {"before": export(options.before, Path(scratch)), "after": export(options.after, Path(scratch))}
        for round_number in range(options.rounds):
            order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
            for script, args, figures_of in benches(options):
                for label in order:
                    started = time.monotonic()
                    data = measure(trees[label], script, args, failures)
                    figures = {**figures_of(data), f"{script}: CPU s of the whole benchmark": data[CPU_KEY]}
                    print(
                        f"round {round_number + 1} {label:<6} {script:<18} {time.monotonic() - started:5.1f} s",
                        flush=True,
                    )
                    for key, value in figures.items():
                        best[label][key] = min(value, best[label].get(key, value))

    rows = []
    for key, before in best["before"].items():
        after = best["after"].get(key)
        if after is None:
            continue
        ratio = after / before if before else float("nan")
        rows.append({"figure": key, "before": round(before, 4), "after": round(after, 4), "ratio": round(ratio, 3)})
    width = max(len(row["figure"]) for row in rows)
    print(f"\n{'figure':<{width}} {'before':>10} {'after':>10} {'after/before':>13}")
    for row in rows:
        flag = "  <- slower" if row["ratio"] > NOISE else ""
        print(f"{row['figure']:<{width}} {row['before']:>10.4g} {row['after']:>10.4g} {row['ratio']:>12.3f}x{flag}")
    report = {
        "before": options.before,
        "after": options.after,
        "before_commit": _resolve(options.before),
        "after_commit": _resolve(options.after),
        "rounds": options.rounds,
        "best_of": options.rounds,
        "noise_ratio": NOISE,
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "failed_attempts": failures,
        "rows": rows,
    }
    results = HERE / "results" / f"{options.name}.json"
    results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {results}")


def _resolve(commit: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", commit], capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    main()
