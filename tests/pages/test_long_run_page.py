"""A long run's page: steps past the first chunk arrive as inert text and become markup on demand.

Checked in Chromium: every step ends up in the page, a link to a late step works at once, "expand
all" reaches every chunk, a run's text can no more escape a chunk than the page, and a browser
without scripts still shows every step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_cli

STEPS = 250
HOSTILE_STEP, ERROR_STEP = 230, 240
#: Steps whose output is long enough to fold: every tenth, but for the hostile and the error step.
FOLDED = [step for step in range(10, STEPS + 1, 10) if step not in (HOSTILE_STEP, ERROR_STEP)]
ESCAPE = "</noscript></NoScript ><script>window.pwned = 3</script><img src=x onerror='window.pwned = 4'>"


def long_log(path: Path) -> Path:
    """``STEPS`` steps: every tenth output long enough to fold, one hostile output late in the run,
    one error."""
    records: list[dict[str, Any]] = [
        {
            "agentexec": "0.1.0",
            "format": 1,
            "task": {"id": "long"},
            "config": {},
            "started": "2026-01-01T00:00:00+00:00",
        }
    ]
    for step in range(1, STEPS + 1):
        seq = 2 * step - 1
        content = "\n".join(str(n) for n in range(1, 61)) if step % 10 == 0 else f"output of step {step}"
        if step == HOSTILE_STEP:
            content = ESCAPE
        records.append({"seq": seq, "ts": 100.0 + step, "action": "run", "args": {"command": f"echo {step}"}})
        observation = {"seq": seq + 1, "ts": 100.5 + step, "observation": "run", "content": content, "cause": seq}
        observation["extras"] = {"exit_code": 0}
        if step == ERROR_STEP:
            observation.update(observation="error", content="no such thing", extras={})
        records.append(observation)
    records.append({"result": {"task": "long", "outcome": "finished", "passed": True, "steps": STEPS}})
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


@pytest.fixture(scope="module")
def long_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("long-page")
    log = long_log(directory / "long.jsonl")
    done = run_cli("show", str(log), "--html", cwd=directory)
    assert done.returncode == 0, done.stderr
    return directory / "long.html"


def all_steps_live(page: Any) -> None:
    """Wait (polling: the page's CSP forbids playwright's eval-based waits) until every step is markup."""
    deadline = time.monotonic() + 15
    while page.locator("section.step").count() < STEPS and time.monotonic() < deadline:
        time.sleep(0.05)
    assert page.locator("section.step").count() == STEPS


def test_every_step_becomes_markup_and_text_never_escapes_its_chunk(long_page: Path, browser_page: Any) -> None:
    html = long_page.read_text()
    assert html.count('<section class="step') == STEPS
    assert html.count('<div class="later"') >= 2  # the run is long enough to be chunked
    page = browser_page
    page.goto(long_page.resolve().as_uri())
    all_steps_live(page)
    assert page.problems == []
    assert page.evaluate("window.pwned") is None
    assert page.locator("main script, main img[src=x], div.later").count() == 0
    assert page.locator("#step-459 .obs pre").text_content() == ESCAPE
    assert page.locator("section.step .name").count() == STEPS
    assert [int(s.split("-")[1]) for s in page.locator("section.step").evaluate_all("l => l.map(s => s.id)")] == [
        2 * step - 1 for step in range(1, STEPS + 1)
    ]


def test_a_link_to_a_late_step_and_expand_all_reach_chunks_not_yet_shown(long_page: Path, browser_page: Any) -> None:
    page = browser_page
    page.goto(long_page.resolve().as_uri() + "#step-479")
    late = page.locator("#step-479")
    assert "error" in late.get_attribute("class") and "no such thing" in (late.text_content() or "")
    assert page.evaluate("window.scrollY") > 0  # the page scrolled down to it
    page.locator("#expand-all").click()
    middles = page.locator("pre.middle")
    assert middles.count() == len(FOLDED)
    last_middle = page.locator(f"#step-{2 * FOLDED[-1] - 1} pre.middle")
    last_middle.scroll_into_view_if_needed()
    assert last_middle.is_visible() and "30\n31" in last_middle.inner_text()
    page.locator("#collapse-all").click()
    assert all(middles.nth(i).is_hidden() for i in range(len(FOLDED)))
    assert page.problems == []


def test_without_scripts_every_step_is_still_shown(long_page: Path, chromium: Any) -> None:
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.goto(long_page.resolve().as_uri())
        assert page.locator("section.step").count() == STEPS
        last = page.locator("#step-499")
        last.scroll_into_view_if_needed()
        assert last.is_visible() and "echo 250" in (last.text_content() or "")
        assert page.locator("#step-459 .obs pre").text_content() == ESCAPE
        assert page.locator("script:not([nonce])").count() == 0
    finally:
        context.close()
