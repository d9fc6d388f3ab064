"""A run page grows linearly with its log, and a huge output is cut with a marker, never dropped silently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import run_cli, write_json


def mixed_round(index: int) -> list[dict[str, Any]]:
    return [
        {"action": "run", "args": {"command": f"echo step {index}"}, "thought": f"step {index}"},
        {"action": "run", "args": {"command": "seq 1 300"}},
        {"action": "write", "args": {"path": f"f{index}.txt", "content": "line\n" * 30}},
        {"action": "nope", "args": {}},
    ]


def page_of(project: Path, rounds: int) -> tuple[Path, str]:
    actions = [action for index in range(rounds) for action in mixed_round(index)]
    name = f"run{rounds}"
    task = {"id": name, "actions": actions, "max_iterations": len(actions) + 1}
    log = project / f"{name}.jsonl"
    recorded = run_cli(
        "run",
        str(write_json(project / f"{name}.json", task)),
        "--log",
        str(log),
        "--workspace",
        "ws",
        "--json",
        cwd=project,
    )
    assert recorded.returncode == 0, recorded.stderr
    shown = run_cli("show", str(log), "--html", cwd=project)
    assert shown.returncode == 0, shown.stderr
    page = log.with_suffix(".html")
    return page, page.read_text()


def test_page_size_per_action_stays_the_same_as_the_log_grows(project: Path) -> None:
    small_page, small = page_of(project, 10)
    large_page, large = page_of(project, 60)
    assert small.count('<section class="step') == 41 and large.count('<section class="step') == 241
    per_action_small = (len(small) - len(small.split('<section class="step', 1)[0])) / 41
    per_action_large = (len(large) - len(large.split('<section class="step', 1)[0])) / 241
    assert 0.9 < per_action_large / per_action_small < 1.1, (per_action_small, per_action_large)


def test_a_huge_output_is_cut_with_a_marker_naming_where_the_rest_is(project: Path) -> None:
    task = {"id": "huge", "actions": [{"action": "run", "args": {"command": "seq 1 200000"}}]}
    log = project / "huge.jsonl"
    assert run_cli("run", str(write_json(project / "huge.json", task)), "--log", str(log), cwd=project).returncode == 0
    assert run_cli("show", str(log), "--html", cwd=project).returncode == 0
    page = (project / "huge.html").read_text()
    assert len(page) < 120_000  # a 1.3 MB output does not make a 1.3 MB page
    assert "characters cut from this page" in page
    assert "1\n2\n3\n" in page and "199999\n200000" in page  # its head and tail are kept
