"""``agentexec show LOG --html``: a run's page, checked in a real Chromium."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PEER_DATA, run_cli, write_json

HOSTILE = '<script>window.pwned = 1; alert(1)</script><img src=x onerror="window.pwned = 2">'


def hostile_run(project: Path) -> Path:
    actions = [
        {"action": "run", "args": {"command": f"printf '%s\\n' '{HOSTILE}'"}, "thought": HOSTILE},
        {"action": "run", "args": {"command": "seq 1 500"}},
        {"action": "write", "args": {"path": "app.py", "content": "x = 1\ny = 2\n"}},
        {
            "action": "edit",
            "args": {"command": "str_replace", "path": "app.py", "old_str": "y = 2", "new_str": "y = 3"},
        },
        {"action": "run", "args": {"command": "exit 3"}},
        {"action": "deploy", "args": {"to": "prod"}},
    ]
    task = {"id": "page-demo", "instruction": f"make the app {HOSTILE}", "actions": actions}
    log = project / "run.jsonl"
    done = run_cli(
        "run",
        str(write_json(project / "task.json", task)),
        "--log",
        str(log),
        "--workspace",
        "ws",
        "--json",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    return log


def open_page(page: Any, path: Path, shot: Path) -> None:
    page.goto(path.resolve().as_uri())
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000


def test_run_page_shows_steps_outcome_diff_errors_and_folds_long_output(
    project: Path, browser_page: Any, tmp_path: Path
) -> None:
    log = hostile_run(project)
    done = run_cli("show", str(log), "--html", cwd=project)
    assert done.returncode == 0, done.stderr
    page_file = project / "run.html"
    assert f"page: {page_file} (7 steps, 2 errors" in done.stdout
    page = browser_page
    open_page(page, page_file, tmp_path / "run-page.png")
    assert page.problems == []
    assert page.locator("#outcome").inner_text() == "finished · passed"
    assert page.locator("section.step").count() == 7
    assert page.locator("section.step.error .name").inner_text() == "deploy"
    assert "unknown action 'deploy'" in page.locator("section.step.error .obs").inner_text()
    assert page.locator("section.step.failed .status .bad").inner_text() == "exit 3"
    edit = page.locator("section.step", has_text="str_replace app.py")
    assert edit.locator(".diff .del").inner_text().strip() == "-y = 2"
    assert edit.locator(".diff .add").inner_text().strip() == "+y = 3"
    long_output = page.locator("section.step", has_text="seq 1 500").locator(".fold")
    middle, button = long_output.locator("pre.middle"), long_output.locator("button.expand")
    assert long_output.locator("pre").first.inner_text().startswith("1\n2\n") and "500" in long_output.inner_text()
    assert middle.is_hidden() and button.inner_text() == "show 484 more lines"
    button.click()
    assert middle.is_visible() and "250" in middle.inner_text() and button.inner_text() == "hide 484 lines"
    page.locator("#collapse-all").click()
    assert middle.is_hidden()
    page.locator("#only-problems").check()
    assert page.locator("section.step:visible").count() == 2
    assert "finished · passed · 7 steps" in page.locator("#result").inner_text()


def test_text_from_the_run_is_never_markup_or_script(project: Path, browser_page: Any, tmp_path: Path) -> None:
    log = hostile_run(project)
    out = tmp_path / "hostile.html"
    assert run_cli("show", str(log), "--html", str(out), cwd=project).returncode == 0
    page = browser_page
    open_page(page, out, tmp_path / "hostile.png")
    assert page.problems == []
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img[src=x]").count() == 0
    first = page.locator("section.step").first
    assert HOSTILE in first.locator(".obs pre").inner_text()
    assert HOSTILE in first.locator(".thought").inner_text()
    assert HOSTILE in page.locator(".instruction").inner_text()
    assert "&lt;script&gt;window.pwned" in out.read_text()


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A real PNG (random pixels when ``noise``, so it does not compress)."""
    import os

    rows = b"".join(b"\0" + (os.urandom(width * 3) if noise else b"\x20\x80\xe0" * width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def write_log(path: Path, records: list[dict[str, Any]], result: dict[str, Any] | None) -> Path:
    header = {
        "agentexec": "0.1.0",
        "format": 1,
        "task": {"id": path.stem},
        "config": {},
        "started": "2026-01-01T00:00:00+00:00",
    }
    lines = [header, *records] + ([{"result": result}] if result is not None else [])
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_streamed_output_interrupts_and_images_appear_where_they_happened(tmp_path: Path, browser_page: Any) -> None:
    log = tmp_path / "browsing.jsonl"
    outputs = tmp_path / "browsing.jsonl.outputs"
    outputs.mkdir()
    (outputs / "shot-1.png").write_bytes(png(40, 30))
    (outputs / "huge.png").write_bytes(png(400, 300, noise=True))
    (outputs / "plot.png").write_bytes(png(20, 20))
    inline_png = base64.b64encode(png(10, 10)).decode()
    records = [
        {"seq": 1, "ts": 100.0, "action": "browse", "args": {"url": "http://127.0.0.1:1/"}},
        {
            "seq": 2,
            "ts": 100.5,
            "observation": "browse",
            "content": "page text",
            "cause": 1,
            "extras": {"screenshot": "shot-1.png", "full_page": str(outputs / "huge.png"), "thumbnail": inline_png},
        },
        {"seq": 3, "ts": 101.0, "action": "run", "args": {"command": "make"}},
        {"output": "building step 1\n", "cause": 3},
        {"output": "building step 2\n", "cause": 3},
        {
            "seq": 4,
            "ts": 104.0,
            "observation": "error",
            "content": "interrupted by the user",
            "cause": 3,
            "extras": {"interrupted": True},
        },
        {"seq": 5, "ts": 104.5, "action": "run", "args": {"command": "sleep 100"}},
    ]
    write_log(log, records, None)
    out = tmp_path / "page" / "browsing.html"
    done = run_cli("show", str(log), "--html", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = browser_page
    open_page(page, out, tmp_path / "browsing.png")
    assert page.problems == []
    browse = page.locator("#step-1")
    images = browse.locator(".media img")
    assert images.count() == 2 and all(
        src.startswith("data:image/png;base64,") for src in images.evaluate_all("l => l.map(i => i.src)")
    )
    assert images.first.evaluate("i => i.naturalWidth") == 40
    link = browse.locator(".media a")
    assert link.inner_text() == "huge.png" and link.get_attribute("href") == "../browsing.jsonl.outputs/huge.png"
    make = page.locator("#step-3")
    assert "interrupted" in make.get_attribute("class")
    assert "building step 1\nbuilding step 2" in make.locator(".stream").inner_text()
    assert "2 chunks" in make.locator(".stream .label").text_content()
    assert make.locator(".interrupt").inner_text() == "⚡ interrupted here"
    assert make.locator(".bar > span").evaluate("s => s.style.width") == "100%"
    assert "no observation" in page.locator("#step-5").inner_text()
    assert "no result line" in page.locator("#result").inner_text()
    gallery = page.locator("main > .media img")
    assert gallery.count() == 1 and gallery.get_attribute("alt") == "plot.png"


def test_verify_divergences_are_highlighted_with_their_diff(project: Path, browser_page: Any, tmp_path: Path) -> None:
    actions = [{"action": "run", "args": {"command": "echo same"}}, {"action": "run", "args": {"command": "echo now"}}]
    task = write_json(project / "task.json", {"id": "verify", "actions": actions})
    recorded = project / "recorded.jsonl"
    assert run_cli("run", str(task), "--log", str(recorded), "--workspace", "ws", "--json", cwd=project).returncode == 0
    recorded.write_text(recorded.read_text().replace('"content": "now', '"content": "then'))
    replayed = tmp_path / "replayed.jsonl"
    done = run_cli("replay", str(recorded), "--verify", "--log", str(replayed), "--json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert run_cli("show", str(replayed), "--html", cwd=tmp_path).returncode == 0
    page = browser_page
    open_page(page, tmp_path / "replayed.html", tmp_path / "divergence.png")
    assert page.problems == []
    assert page.locator("section.diverged").count() == 1
    diverged = page.locator("section.diverged")
    assert "echo now" in diverged.locator(".summary").inner_text()
    assert "-then" in diverged.locator(".divergence .del").all_inner_texts()[-1]
    assert "+now" in diverged.locator(".divergence .add").all_inner_texts()[-1]
    assert "replay of agentexec" in page.locator(".provenance").inner_text()
    assert "1 diverged" in page.locator("#result .verify").inner_text()


IMPORTED = [
    PEER_DATA / "openhands-trajectories" / "basic.json",
    PEER_DATA / "openhands-trajectories" / "basic_interactions.json",
    PEER_DATA / "mini-swe-agent-trajectories" / "github_issue.traj.json",
]


@pytest.mark.parametrize("trajectory", IMPORTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_imported_trajectories_get_the_same_page(trajectory: Path, tmp_path: Path, browser_page: Any) -> None:
    """Every action the importer finds is a step of the page, in order, with the trajectory's task."""
    if not trajectory.is_file():
        pytest.skip(f"peer trajectory not found at {trajectory} (set AGENTEXEC_SHARED to the shared directory)")
    normalised = run_cli("show", str(trajectory), "--json", cwd=tmp_path)
    assert normalised.returncode == 0, normalised.stderr
    events = [json.loads(line) for line in normalised.stdout.splitlines()]
    actions = [event["action"] for event in events[1:] if "action" in event]
    out = tmp_path / f"{trajectory.parent.name}.html"
    done = run_cli("show", str(trajectory), "--html", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = browser_page
    open_page(page, out, tmp_path / f"{trajectory.parent.name}.png")
    assert page.problems == []
    assert len(actions) >= 2
    assert page.locator("section.step .name").all_text_contents() == actions
    assert "imported from" in page.locator(".provenance").inner_text()
    instruction = events[0]["task"]["instruction"].split("\n")[0].strip()
    assert instruction[:40] in page.locator("body").inner_text()
    assert page.locator("#outcome").inner_text() in ("imported", "finished · passed", "finished · failed")
