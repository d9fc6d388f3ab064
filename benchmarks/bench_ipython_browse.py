"""Benchmark ``run_ipython`` and ``browse`` against raw jupyter_client and raw playwright, in one run.

    python benchmarks/bench_ipython_browse.py [--rounds 3] [--cells 200] [--pages 30]

Floors, measured here on the same kernel and the same Chromium: a raw ``BlockingKernelClient``
starting ``ipykernel_launcher`` and running ``1+1`` (``execute_interactive``); raw playwright
launching ``/usr/bin/chromium`` and doing ``goto`` + ``inner_text('body')`` of a page served on
127.0.0.1. Ours: the same through ``agentexec.connect()`` (the whole action path, local runtime),
with ``screenshot=False`` so both sides do the same work. Rounds alternate floor and ours so drift
on a shared machine hits both alike. Prints ratios, writes ``benchmarks/results/ipython_browse.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import agentexec

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
PAGE = b"<title>Bench</title>" + b"".join(b"<p>line %d of the page</p>" % i for i in range(200))
TARGETS = {"kernel_start_vs_floor": 1.5, "cell_vs_floor": 1.5, "cell_ms": 5.0, "page_vs_floor": 1.3}


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


def raw_kernel(cells: int) -> tuple[float, list[float]]:
    """Floor: jupyter_client's own manager and blocking client, ``1+1`` cells."""
    from jupyter_client.manager import start_new_kernel

    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3", extra_arguments=["--HistoryManager.enabled=False"])
    start = time.perf_counter() - started
    times = []
    try:
        for _ in range(cells):
            t = time.perf_counter()
            client.execute_interactive("1+1", store_history=True, output_hook=lambda _msg: None, timeout=30)
            times.append(time.perf_counter() - t)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return start, times


def our_kernel(cells: int) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as workspace, agentexec.connect(workspace=workspace) as rt:
        started = time.perf_counter()
        rt.execute({"action": "run_ipython", "args": {"code": "1+1"}})  # the first cell starts the kernel
        start = time.perf_counter() - started
        times = []
        for _ in range(cells):
            t = time.perf_counter()
            observation = rt.execute({"action": "run_ipython", "args": {"code": "1+1"}})
            times.append(time.perf_counter() - t)
        assert observation.content == "2\n", observation
    return start, times


def raw_pages(url: str, pages: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from agentexec.executors.browser_session import CHROMIUM_FLAGS

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_FLAGS, "--no-sandbox"])
        page = browser.new_page()
        page.goto(url)
        for _ in range(pages):
            t = time.perf_counter()
            page.goto(url, wait_until="load")
            text = page.locator("body").inner_text()
            times.append(time.perf_counter() - t)
        assert "line 199" in text
        browser.close()
    return times


def our_pages(url: str, pages: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as workspace, agentexec.connect(workspace=workspace) as rt:
        rt.execute({"action": "browse", "args": {"url": url, "screenshot": False}})
        for _ in range(pages):
            t = time.perf_counter()
            observation = rt.execute({"action": "browse", "args": {"url": url, "screenshot": False}})
            times.append(time.perf_counter() - t)
        assert "line 199" in observation.content, observation
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--pages", type=int, default=30)
    options = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    samples: dict[str, list[float]] = {key: [] for key in ("raw_start", "our_start", "raw_cell", "our_cell")}
    samples |= {"raw_page": [], "our_page": []}
    for round_ in range(options.rounds):
        order = [(raw_kernel, "raw"), (our_kernel, "our")]
        for func, who in order if round_ % 2 == 0 else order[::-1]:
            start, cells = func(options.cells)
            samples[f"{who}_start"].append(start)
            samples[f"{who}_cell"] += cells
        pairs = [(raw_pages, "raw"), (our_pages, "our")]
        for func, who in pairs if round_ % 2 == 0 else pairs[::-1]:
            samples[f"{who}_page"] += func(url, options.pages)
    server.shutdown()
    median = {key: statistics.median(values) for key, values in samples.items()}
    figures = {
        "kernel_start_s": {"ours": median["our_start"], "floor": median["raw_start"]},
        "cell_ms": {"ours": median["our_cell"] * 1e3, "floor": median["raw_cell"] * 1e3},
        "page_ms": {"ours": median["our_page"] * 1e3, "floor": median["raw_page"] * 1e3},
    }
    ratios = {
        "kernel_start_vs_floor": median["our_start"] / median["raw_start"],
        "cell_vs_floor": median["our_cell"] / median["raw_cell"],
        "page_vs_floor": median["our_page"] / median["raw_page"],
    }
    for name, pair in figures.items():
        print(f"{name:16} ours {pair['ours']:9.3f}   floor {pair['floor']:9.3f}")
    for name, ratio in ratios.items():
        print(f"{name:22} {ratio:5.2f}x (target {TARGETS[name]}x)")
    print(f"cell under {TARGETS['cell_ms']} ms: {figures['cell_ms']['ours'] < TARGETS['cell_ms']}")
    results: dict[str, Any] = {
        "figures": figures,
        "ratios": ratios,
        "targets": TARGETS,
        "rounds": options.rounds,
        "cells": options.cells,
        "pages": options.pages,
        "python": sys.version.split()[0],
        "machine": platform.platform(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = HERE / "results" / "ipython_browse.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
