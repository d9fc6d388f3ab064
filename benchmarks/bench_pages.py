"""Run pages of large logs: render time, page size per action, and time to open in Chromium.

Records one mixed 50-action run with ``agentexec run`` (short and long outputs, writes, edits,
reads, a failed command, an unknown action), then tiles its events into logs of 1,000 to 10,000
actions (sequence numbers, causes and times renumbered, so each is a valid log). Each log is
rendered with ``agentexec show LOG --html`` (timed from the outside) and opened in Debian's
Chromium through playwright (first contentful paint, and ``goto`` until the load event plus a forced
layout; then until every step of the page is live markup; median of three).

References, measured in the same run: the 1,000-action page (bytes per action: linear growth keeps
the ratio at 1.0), the issue's target of opening a 10,000-action page in under 2 s, and the time
to open a one-line page (what the browser costs on this machine's load at that moment).

    python benchmarks/bench_pages.py [--sizes 1000,2500,5000,10000]

Prints a table and writes ``benchmarks/results/pages.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "pages.json"
OPEN_TARGET_S = 2.0
CHROMIUM = "/usr/bin/chromium"


def base_actions() -> list[dict[str, Any]]:
    """Fifty actions with the shapes a real run has, repeated to size."""
    mix: list[dict[str, Any]] = []
    for index in range(10):
        mix += [
            {"action": "run", "args": {"command": f"echo step {index}; ls"}, "thought": f"look around ({index})"},
            {"action": "run", "args": {"command": "seq 1 400"}},
            {"action": "write", "args": {"path": f"m{index}.py", "content": "a = 1\nb = 2\n" * 20}},
            {
                "action": "edit",
                "args": {
                    "command": "str_replace",
                    "path": f"m{index}.py",
                    "old_str": "a = 1\nb = 2\na",
                    "new_str": "a = 9\nb = 2\na",
                },
            },
            {"action": "run", "args": {"command": "exit 1"}}
            if index % 2
            else {"action": "read", "args": {"path": f"m{index}.py"}},
        ]
    mix[-1] = {"action": "nope", "args": {}}
    return mix


def agentexec(*args: str, cwd: Path) -> float:
    """Run the CLI, fail loudly on a non-zero exit; returns the wall time."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "agentexec", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"agentexec {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def record_base(directory: Path) -> list[dict[str, Any]]:
    actions = base_actions()
    task = {"id": "big", "actions": actions, "max_iterations": len(actions) + 1}
    (directory / "task.json").write_text(json.dumps(task))
    agentexec("run", "task.json", "--log", "base.jsonl", "--workspace", "ws", "--json", cwd=directory)
    return [json.loads(line) for line in (directory / "base.jsonl").read_text().splitlines()]


def tile(records: list[dict[str, Any]], actions: int, out: Path) -> None:
    """A valid log of ``actions`` actions built by repeating the base run's body."""
    header = records[0]
    body = [r for r in records[1:] if "seq" in r and "finish" not in (r.get("action"), r.get("observation"))]
    per_round = sum(1 for r in body if "action" in r)
    rounds = -(-actions // per_round)
    span = body[-1]["ts"] - body[0]["ts"] + 0.01
    header = {**header, "task": {**header["task"], "actions": []}}
    seq, written = 0, 0
    with out.open("w") as log:
        log.write(json.dumps(header) + "\n")
        for round_index in range(rounds):
            base_seq = body[0]["seq"]
            for record in body:
                if "action" in record and written == actions:
                    break
                written += "action" in record
                copy = dict(record)
                copy["seq"] = record["seq"] - base_seq + 1 + seq
                copy["ts"] = record["ts"] + round_index * span
                if "cause" in record:
                    copy["cause"] = record["cause"] - base_seq + 1 + seq
                log.write(json.dumps(copy) + "\n")
            seq += body[-1]["seq"] - base_seq + 1
        result = {"task": "big", "outcome": "finished", "passed": True, "steps": written, "duration": rounds * span}
        log.write(json.dumps({"result": result}) + "\n")


def open_times(files: list[Path]) -> dict[Path, tuple[float, float, float]]:
    """Median (first contentful paint, load event plus a forced layout, every step live) of three
    opens, in seconds. A long page's later steps become markup after the load event (in idle time,
    or sooner when scrolled to); "every step live" is when the last of them has."""
    from playwright.sync_api import sync_playwright

    times: dict[Path, list[tuple[float, float, float]]] = {path: [] for path in files}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        for _ in range(3):
            for path in files:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                start = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load")
                page.evaluate("document.body.getBoundingClientRect().height")
                loaded = time.perf_counter() - start
                while page.evaluate("document.querySelector('div.later') !== null"):  # the page's CSP forbids
                    time.sleep(0.05)  # playwright's wait_for_function (an eval), so poll from here
                live = time.perf_counter() - start
                paint = page.evaluate(
                    "(performance.getEntriesByName('first-contentful-paint')[0] || {startTime: NaN}).startTime"
                )
                times[path].append((paint / 1000, loaded, live))
                page.close()
        browser.close()
    medians = {}
    for path, values in times.items():
        paint, loaded, live = (statistics.median(v[i] for v in values) for i in range(3))
        medians[path] = (paint, loaded, live)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2500,5000,10000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        directory = Path(tmp)
        base = record_base(directory)
        pages: dict[int, Path] = {}
        for size in sizes:
            log = directory / f"log-{size}.jsonl"
            tile(base, size, log)
            page = directory / f"log-{size}.html"
            render_s = agentexec("show", str(log), "--html", str(page), cwd=directory)
            pages[size] = page
            rows.append(
                {
                    "actions": size,
                    "log_bytes": log.stat().st_size,
                    "page_bytes": page.stat().st_size,
                    "render_s": round(render_s, 3),
                }
            )
        blank = directory / "blank.html"
        blank.write_text("<!doctype html><title>blank</title><p>blank</p>")
        opened = open_times([blank, *pages.values()])
    reference = rows[0]["page_bytes"] / rows[0]["actions"]
    for row in rows:
        row["first_paint_s"] = round(opened[pages[row["actions"]]][0], 3)
        row["open_s"] = round(opened[pages[row["actions"]]][1], 3)
        row["all_live_s"] = round(opened[pages[row["actions"]]][2], 3)
        row["bytes_per_action"] = round(row["page_bytes"] / row["actions"], 1)
        row["bytes_per_action_ratio"] = round(row["bytes_per_action"] / reference, 3)
        row["open_vs_target"] = round(row["open_s"] / OPEN_TARGET_S, 3)
        row["open_minus_blank_s"] = round(row["open_s"] - opened[blank][1], 3)
    columns = ("actions", "log KB", "page KB", "B/action", "x 1k ref", "render s", "paint s", "load s", "x 2 s")
    columns += ("live s",)
    print(" ".join(f"{name:>9}" for name in columns))
    for row in rows:
        values = (row["actions"], round(row["log_bytes"] / 1024), round(row["page_bytes"] / 1024))
        values += (
            row["bytes_per_action"],
            row["bytes_per_action_ratio"],
            row["render_s"],
            row["first_paint_s"],
            row["open_s"],
        )
        print(" ".join(f"{value:>9}" for value in (*values, row["open_vs_target"], row["all_live_s"])))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "pages",
                "reference": {
                    "bytes_per_action_of": sizes[0],
                    "open_target_s": OPEN_TARGET_S,
                    "blank_page_open_s": round(opened[blank][1], 3),
                },
                "machine": {"python": platform.python_version(), "platform": platform.platform()},
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"a one-line page opens in {opened[blank][1]:.3f} s (browser cost at this moment's load)")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
