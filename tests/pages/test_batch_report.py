"""``agentexec batch`` writes report.html; ``show summary.json`` prints or regenerates it. Checked in Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.helpers import run_cli, write_json


def run(command: str) -> dict[str, Any]:
    return {"action": "run", "args": {"command": command}}


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small batch: two passing tasks of different lengths, a failing check, a task with an error step."""
    project = tmp_path_factory.mktemp("batch-project")
    tasks = project / "tasks"
    tasks.mkdir()
    write_json(tasks / "quick.json", {"id": "quick", "actions": [run("true")], "check": [run("true")]})
    write_json(
        tasks / "slow.json",
        {"id": "slow", "actions": [run("sleep 0.6"), run("echo done")], "check": [run("true")]},
    )
    write_json(tasks / "wrong.json", {"id": "wrong", "actions": [run("true")], "check": [run("test -f missing")]})
    write_json(
        tasks / "odd.json",
        {
            "id": "odd",
            "instruction": "<b>bold</b> <script>alert(1)</script>",
            "actions": [run("echo '<script>alert(1)</script>'"), {"action": "deploy"}],
        },
    )
    done = run_cli("batch", "tasks", "--out", "out", "--workers", "2", cwd=project)
    assert done.returncode in (0, 1), done.stderr
    return project / "out"


def test_batch_writes_report_beside_summary_with_counts_and_histogram(batch_out: Path, browser_page: Any) -> None:
    summary = json.loads((batch_out / "summary.json").read_text())
    statuses = {entry["id"]: entry["status"] for entry in summary["tasks"]}
    report = batch_out / "report.html"
    assert report.is_file()
    page = browser_page
    page.goto(report.resolve().as_uri())
    page.screenshot(path=str(batch_out.parent / "report.png"), full_page=True)
    assert page.problems == []
    assert page.locator("#tasks tbody tr").count() == 4
    passed = sum(1 for status in statuses.values() if status == "passed")
    assert page.locator('#totals .card[data-status="passed"] .n').inner_text() == str(passed)
    assert f"{passed / 4:.1%}" in page.locator("#totals").inner_text()
    bars = page.locator("svg.histogram rect")
    assert bars.count() >= 2
    counted = sum(int(title.split(": ")[1].split()[0]) for title in bars.locator("title").all_text_contents())
    assert counted == sum(1 for status in statuses.values() if status in ("passed", "failed", "error"))
    assert page.locator("#tasks b, #tasks script").count() == 0  # the run's text is text, never markup


def test_batch_table_sorts_by_each_column(batch_out: Path, browser_page: Any) -> None:
    summary = json.loads((batch_out / "summary.json").read_text())
    duration_of = {entry["id"]: entry["duration"] for entry in summary["tasks"]}
    page = browser_page
    page.goto((batch_out / "report.html").resolve().as_uri())

    def shown_ids() -> list[str]:
        return page.locator("#tasks tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")

    ids = shown_ids()
    assert sorted(ids) == sorted(duration_of)
    duration = page.locator("#tasks th", has_text="duration")
    duration.click()
    assert duration.get_attribute("aria-sort") == "ascending"
    ascending = [duration_of[task_id] for task_id in shown_ids()]
    assert ascending == sorted(ascending)  # tasks of equal duration may come in either order
    duration.click()
    assert duration.get_attribute("aria-sort") == "descending"
    descending = [duration_of[task_id] for task_id in shown_ids()]
    assert descending == sorted(descending, reverse=True)
    page.locator("#tasks th", has_text="task").click()
    assert shown_ids() == sorted(ids)
    assert page.problems == []


def test_each_task_links_to_its_run_page_and_back(batch_out: Path, browser_page: Any) -> None:
    page = browser_page
    page.goto((batch_out / "report.html").resolve().as_uri())
    page.locator("#tasks a", has_text="slow").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/pages/slow.html")
    page.screenshot(path=str(batch_out.parent / "slow.png"), full_page=True)
    assert page.locator("section.step .summary").all_text_contents()[:2] == ["sleep 0.6", "echo done"]
    assert page.locator("#outcome").inner_text() == "finished · passed"
    page.go_back()
    page.locator("#tasks a", has_text="odd").first.click()
    page.wait_for_load_state()
    assert page.locator("section.step.error .name").inner_text() == "deploy"
    assert "<script>alert(1)</script>" in page.locator("body").inner_text()
    assert page.problems == []


def test_show_summary_prints_the_table_and_regenerates_the_report(batch_out: Path, tmp_path: Path) -> None:
    table = run_cli("show", str(batch_out / "summary.json"), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    for task_id in ("quick", "slow", "wrong"):
        assert task_id in table.stdout
    assert "passed" in table.stdout and "failed" in table.stdout
    report = batch_out / "report.html"
    report.unlink()
    again = run_cli("show", str(batch_out / "summary.json"), "--html", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert report.is_file() and '<table id="tasks">' in report.read_text()
    elsewhere = tmp_path / "copy.html"
    assert run_cli("show", str(batch_out), "--html", str(elsewhere), cwd=tmp_path).returncode == 0
    links = [unquote(href) for href in re.findall(r'href="([^"#][^"]*)"', elsewhere.read_text())]
    assert len(links) >= 5  # summary.json and a page and a log per task with a log
    assert all((elsewhere.parent / link).resolve().is_file() for link in links), links
