"""Benchmark file transfer and one-shot ``exec`` against the plain tools, measured in the same run.

    python benchmarks/bench_files.py [--runtime process] [--size-mb 100] [--files 10000]

Measured, each beside its reference: a ``--size-mb`` file uploaded then downloaded through the
runtime vs ``cp`` there and back (median of three); a tree of ``--files`` small files uploaded then downloaded vs
``tar c | tar x`` and ``cp -r`` there and back; ``exec true`` (median of 50) vs
``subprocess.run(["true"])``; and the peak RSS of this process (which holds the client side of
every transfer) and of its children, to show that transfers stream instead of holding whole
files. Prints ratios (ours / reference) and writes ``benchmarks/results/files.json``
(``files-<runtime>.json`` for another runtime).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agentexec

HERE = Path(__file__).resolve().parent
EXEC_ROUNDS = 50
#: Round trips of the big file, ours and cp's: the median, since one round on a shared machine varies twofold.
BIG_ROUNDS = 3


def timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def peak_rss_mb(who: int) -> float:
    """Peak resident set size in MB (Linux reports kilobytes)."""
    return resource.getrusage(who).ru_maxrss / 1024


def make_tree(root: Path, count: int) -> None:
    for n in range(count):
        folder = root / f"d{n // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n:05d}.txt").write_bytes(f"file {n}\n".encode() * 8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="process")
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--files", type=int, default=10_000)
    options = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-files-"))
    results: dict[str, Any] = {
        "runtime": options.runtime,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        big = scratch / "big.bin"
        with big.open("wb") as stream:
            for _ in range(options.size_mb):
                stream.write(os.urandom(1 << 20))
        tree = scratch / "tree"
        make_tree(tree, options.files)
        workspace = scratch / "ws"
        rss_before = peak_rss_mb(resource.RUSAGE_SELF)
        with agentexec.connect(runtime=options.runtime, workspace=workspace) as rt:
            ours_big = statistics.median(
                timed(lambda: rt.upload(big, "big.bin")) + timed(lambda: rt.download("big.bin", scratch / "big.back"))
                for _ in range(BIG_ROUNDS)
            )
            ours_tree = timed(lambda: rt.upload(tree, "tree")) + timed(
                lambda: rt.download("tree", scratch / "tree.back")
            )
            rt.execute({"action": "exec", "args": {"argv": ["true"]}})
            exec_times = [
                timed(lambda: rt.execute({"action": "exec", "args": {"argv": ["true"]}})) for _ in range(EXEC_ROUNDS)
            ]
        rss_client = peak_rss_mb(resource.RUSAGE_SELF)
        rss_children = peak_rss_mb(resource.RUSAGE_CHILDREN)
        assert (scratch / "big.back").read_bytes() == big.read_bytes(), "the downloaded file differs"
        assert len(list((scratch / "tree.back").rglob("*.txt"))) == options.files, "files are missing"

        copies = scratch / "copies"
        copies.mkdir()
        cp_big = statistics.median(
            timed(lambda: subprocess.run(["cp", str(big), str(copies / "big")], check=True))
            + timed(lambda: subprocess.run(["cp", str(copies / "big"), str(copies / "big.back")], check=True))
            for _ in range(BIG_ROUNDS)
        )

        def tar_pipe(source: Path, target: Path) -> None:
            target.mkdir()
            subprocess.run(f"tar -C '{source}' -cf - . | tar -C '{target}' -xf -", shell=True, check=True)

        tar_tree = timed(lambda: tar_pipe(tree, copies / "tar1")) + timed(
            lambda: tar_pipe(copies / "tar1", copies / "tar2")
        )
        cp_tree = timed(lambda: subprocess.run(["cp", "-r", str(tree), str(copies / "cp1")], check=True)) + timed(
            lambda: subprocess.run(["cp", "-r", str(copies / "cp1"), str(copies / "cp2")], check=True)
        )
        subprocess_times = [timed(lambda: subprocess.run(["true"], check=True)) for _ in range(EXEC_ROUNDS)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    exec_median, subprocess_median = statistics.median(exec_times), statistics.median(subprocess_times)
    results.update(
        {
            f"file_{options.size_mb}mb_round_trip_s": {
                "agentexec": ours_big,
                "cp": cp_big,
                "ratio": ours_big / cp_big,
                "agentexec_mb_per_s": 2 * options.size_mb / ours_big,
                "cp_mb_per_s": 2 * options.size_mb / cp_big,
            },
            f"tree_{options.files}_round_trip_s": {
                "agentexec": ours_tree,
                "tar": tar_tree,
                "cp_r": cp_tree,
                "ratio_tar": ours_tree / tar_tree,
                "ratio_cp_r": ours_tree / cp_tree,
            },
            "exec_true_median_s": {
                "agentexec": exec_median,
                "subprocess_run": subprocess_median,
                "ratio": exec_median / subprocess_median,
            },
            "peak_rss_mb": {"client_before": rss_before, "client_after": rss_client, "children": rss_children},
        }
    )
    print(f"runtime {options.runtime}")
    print(
        f"{options.size_mb} MB file up+down: {ours_big:.2f} s ({2 * options.size_mb / ours_big:.0f} MB/s)"
        f" vs cp {cp_big:.2f} s ({2 * options.size_mb / cp_big:.0f} MB/s)  (x{ours_big / cp_big:.1f})"
    )
    print(
        f"{options.files}-file tree up+down: {ours_tree:.2f} s vs tar {tar_tree:.2f} s (x{ours_tree / tar_tree:.1f}),"
        f" cp -r {cp_tree:.2f} s (x{ours_tree / cp_tree:.1f})"
    )
    print(
        f"exec true: {exec_median * 1000:.2f} ms vs subprocess.run {subprocess_median * 1000:.2f} ms"
        f" (x{exec_median / subprocess_median:.1f})"
    )
    print(f"peak RSS: client {rss_before:.0f} -> {rss_client:.0f} MB, largest child {rss_children:.0f} MB")
    out = HERE / "results" / ("files.json" if options.runtime == "process" else f"files-{options.runtime}.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
