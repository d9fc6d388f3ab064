"""A real headless Chromium (Debian's, driven by playwright) for the page tests.

Playwright's own browser download cannot work offline, so the tests use ``/usr/bin/chromium``;
without it, or without the ``browser`` extra, the browser tests skip and say which is missing.
Each ``browser_page`` records console errors and uncaught exceptions, and a test fails if any
happened: a page must load clean.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per test module: playwright's sync API keeps an event loop running in this thread
    while it lives, so it must be gone before tests of other directories call ``asyncio.run``."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser extra is not installed: pip install '.[browser]'"
    )
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """A fresh tab; ``page.problems`` lists console errors, page errors and dialogs (a script ran)."""
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(("file:", "data:")) else page.problems.append(f"network: {request.url}")
        ),
    )
    yield page
    context.close()
