"""A flood of output through agentexec's bash session against a raw pexpect read of the same output.

    python benchmarks/bench_output.py [--size 1G] [--rounds 1]

Both sides run ``head -c SIZE /dev/zero | tr '\\0' y | fold -w 99`` in an interactive bash on a
pty, each in a fresh child process of its own (so peak RSS is that side's alone): ``pexpect`` reads
the pty in 64 KiB chunks, keeps nothing and stops at a unique end marker, the least any pty-based
session can do; ``agentexec`` is ``BashSession.run`` with its defaults (a bounded excerpt kept,
the rest spilled to a file). Target: agentexec within 2x of the raw read, memory bounded.
Writes ``benchmarks/results/output.json``. The default size is 256 MiB (about a quarter of a
minute on a quiet core); ``--size 1G`` is the issue's full gigabyte.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
TARGET_RATIO = 2.0


def flood(size: int) -> str:
    return f"head -c {size} /dev/zero | tr '\\0' y | fold -w 99"


def raw_pexpect(size: int) -> int:
    """Bytes read from a raw pexpect bash until the end marker."""
    import pexpect

    child = pexpect.spawn("/bin/bash", ["--noprofile", "--norc", "--noediting"], echo=False, encoding=None)
    end = b"__END_OF_FLOOD_7f3a__"
    child.sendline(flood(size).encode() + b"; echo __END_OF" + b"_FLOOD_7f3a__")
    total, tail = 0, b""
    while True:
        chunk = child.read_nonblocking(65536, timeout=600)
        total += len(chunk)
        window = tail + chunk
        if end in window:
            break
        tail = window[-len(end) :]
    child.close(force=True)
    return total


def agentexec_session(size: int) -> int:
    from agentexec.executors.bash import BashSession

    with tempfile.TemporaryDirectory() as directory:
        session = BashSession(directory)
        session.start()
        try:
            result = session.run(flood(size), timeout=3600)
            assert result.exit_code == 0, result.output[-500:]
            return result.total_chars
        finally:
            session.close()


BACKENDS = {"pexpect": raw_pexpect, "agentexec": agentexec_session}


def child(name: str, size: int) -> None:
    start = time.perf_counter()
    chars = BACKENDS[name](size)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "chars": chars, "peak_rss_mb": peak_kib / 1024}))


def measure(name: str, size: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--size", str(size)], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise SystemExit(f"{name} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def parse_size(text: str) -> int:
    text = text.strip().upper().rstrip("IB")
    return int(text[:-1]) * UNITS[text[-1]] if text[-1:] in UNITS else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="256M", help="bytes of output (e.g. 256M, 1G)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", choices=sorted(BACKENDS), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "output.json")
    args = parser.parse_args()
    size = parse_size(args.size)
    if args.child:
        child(args.child, size)
        return
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in BACKENDS}
    for _ in range(args.rounds):  # interleaved, so drift on a shared machine hits both alike
        for name in BACKENDS:
            rows[name].append(measure(name, size))
    best = {name: min(samples, key=lambda s: s["seconds"]) for name, samples in rows.items()}
    ratio = best["agentexec"]["seconds"] / best["pexpect"]["seconds"]
    print(f"{size / (1 << 20):.0f} MiB of output, best of {args.rounds}")
    print("| backend | seconds | MiB/s | peak RSS MB | vs pexpect |")
    print("|---|---|---|---|---|")
    for name, row in best.items():
        rate = size / (1 << 20) / row["seconds"]
        print(
            f"| {name} | {row['seconds']:.2f} | {rate:.0f} | {row['peak_rss_mb']:.0f} | "
            f"{row['seconds'] / best['pexpect']['seconds']:.2f}x |"
        )
    verdict = ratio <= TARGET_RATIO
    print(f"agentexec within {TARGET_RATIO:g}x of raw pexpect: {'yes' if verdict else 'NO'} ({ratio:.2f}x)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "size_bytes": size,
        "rounds": args.rounds,
        "best": best,
        "samples": rows,
        "ratio_vs_pexpect": ratio,
        "within_target": verdict,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
