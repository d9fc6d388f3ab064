"""What recording a run's starting workspace costs: time at run start, and disk beside the log.

Builds a 100 MB workspace (by default) shaped like a real one: a few large files and many small
ones in nested directories, and times ``record_start`` (one pass that writes the tar and hashes
every file for the manifest) and ``restore`` (what replay does first) against GNU ``tar`` creating
and extracting the same tree in the same run, so the ratios hold on any machine. Disk is the
snapshot directory (archive + manifest) against tar's archive. Best of ``--repeat`` runs each,
the two taking turns, with the page cache warm for both (a run's workspace was usually just
written or read).

    python benchmarks/bench_snapshot.py [--megabytes 100] [--repeat 3]

Prints a table and writes ``benchmarks/results/snapshot.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentexec.replay.start import SnapshotLimits, located, record_start, restore

RESULTS = Path(__file__).resolve().parent / "results" / "snapshot.json"
SMALL_FILE = 24 * 1024


def make_workspace(root: Path, megabytes: int) -> dict[str, int]:
    """Half the bytes in four large files, half in small files spread over 20 directories."""
    total = megabytes * 1024 * 1024
    large = total // 2 // 4
    for index in range(4):
        (root / f"data-{index}.bin").write_bytes(os.urandom(large))
    small = (total - 4 * large) // SMALL_FILE
    for index in range(small):
        folder = root / "src" / f"pkg{index % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_{index}.py").write_bytes(os.urandom(SMALL_FILE))
    return {"files": 4 + small, "bytes": 4 * large + small * SMALL_FILE}


def best_of_both(
    repeat: int, reference: Callable[[], None], ours: Callable[[], None], before: Callable[[], None] = lambda: None
) -> tuple[float, float]:
    """The best time of each, the two taking turns, so disk write-back and cache state hit both alike."""
    times: dict[str, list[float]] = {"reference": [], "ours": []}
    for _ in range(repeat):
        for name, work in (("reference", reference), ("ours", ours)):
            before()
            started = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - started)
    return min(times["reference"]), min(times["ours"])


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    if shutil.which("tar") is None:
        raise SystemExit("GNU tar is the reference and is not installed")
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as scratch:
        base = Path(scratch)
        workspace = base / "ws"
        workspace.mkdir()
        shape = make_workspace(workspace, options.megabytes)
        log = base / "logs" / "run.jsonl"
        reference = base / "reference.tar"
        limits = SnapshotLimits(max_bytes=10 * shape["bytes"], max_files=10 * shape["files"])
        start: dict[str, Any] = {}
        runs = iter(range(options.repeat))

        def snapshot() -> None:
            # A new log each time, as each run has: removing the last snapshot is not part of the cost.
            start.clear()
            start.update(record_start(workspace, log.with_name(f"run-{next(runs)}.jsonl"), limits))

        tar_create, ours_create = best_of_both(
            options.repeat, lambda: _tar("-cf", str(reference), "-C", str(workspace), "."), snapshot
        )
        assert start["kind"] == "snapshot", start
        restored = base / "restored"
        log = log.with_name(f"run-{options.repeat - 1}.jsonl")
        located_start = located(start, log) or {}

        def clear() -> None:
            shutil.rmtree(restored, ignore_errors=True)
            restored.mkdir()

        tar_extract, ours_extract = best_of_both(
            options.repeat,
            lambda: _tar("-xf", str(reference), "-C", str(restored)),
            lambda: restore(located_start, restored, ""),
            clear,
        )
        ours_disk = size_of(log.parent / (log.name + ".start"))
        tar_disk = size_of(reference)
    rows = [
        {"what": "record at run start (tar + sha256 manifest)", "seconds": ours_create, "tar_seconds": tar_create},
        {"what": "restore for replay", "seconds": ours_extract, "tar_seconds": tar_extract},
    ]
    print(f"workspace: {shape['files']} files, {shape['bytes'] / 1e6:.1f} MB")
    print(f"{'':46} {'agentexec s':>12} {'tar s':>8} {'ratio':>7}")
    for row in rows:
        row["ratio"] = row["seconds"] / row["tar_seconds"]
        print(f"{row['what']:46} {row['seconds']:12.3f} {row['tar_seconds']:8.3f} {row['ratio']:7.2f}")
    disk = {"snapshot_bytes": ours_disk, "tar_bytes": tar_disk, "ratio": ours_disk / tar_disk}
    label = "disk beside the log (archive + manifest)"
    print(f"{label:46} {ours_disk / 1e6:10.1f}MB {tar_disk / 1e6:6.1f}MB {disk['ratio']:7.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    data = {"workspace": shape, "repeat": options.repeat, "machine": machine, "rows": rows, "disk": disk}
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")
    print(f"written {RESULTS}")


def _tar(*args: str) -> None:
    subprocess.run(["tar", *args], check=True)


if __name__ == "__main__":
    main()
