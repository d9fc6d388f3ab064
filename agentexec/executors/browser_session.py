"""``BrowserSession``: one headless Chromium, driven by playwright, for the ``browse`` action.

Playwright's sync API belongs to the thread that started it, while an executor's actions and its
``close()`` may come from different threads (the server runs actions in a worker thread). So the
session owns one thread and every playwright call runs there.

The browser is the system's Chromium (``executable_path``), not playwright's own download; flags
keep it off the network except for the pages it is asked to open (no update checks, sync, QUIC,
field trials). A crashed page or browser is noticed and replaced on the next ``browse``, and that
observation says so.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar

from playwright.sync_api import Browser, Error, Locator, Page, Playwright, sync_playwright

#: Chromium flags: headless and quiet, nothing fetched that the agent did not ask for.
CHROMIUM_FLAGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-field-trial-config",
    "--disable-dev-shm-usage",  # /dev/shm is small in containers and absent in some sandboxes
    "--disable-gpu",
    "--metrics-recording-only",
    "--no-default-browser-check",
]
#: Executables tried, in order, when none is configured.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWPORT: Any = {"width": 1280, "height": 720}
T = TypeVar("T")


class StepError(Exception):
    """A step could not be carried out; its message says why in the agent's terms."""


@dataclass
class PageState:
    """What the agent sees after a browse: the page's text (or accessibility tree), URL, title, screenshot."""

    url: str = ""
    title: str = ""
    text: str = ""
    status: Optional[int] = None
    screenshot: Optional[str] = None
    notes: list[str] = field(default_factory=list)


def find_chromium(configured: Optional[str] = None) -> Optional[str]:
    """The Chromium to launch: the configured one, else the first of ``CHROMIUM_NAMES`` on PATH."""
    if configured:
        return shutil.which(configured) or configured
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None  # playwright's own browser, if it was ever downloaded


class BrowserSession:
    """A lazily launched Chromium with one page; every call runs on the session's own thread.

    Args:
        screenshot_dir: where screenshots are written.
        executable: the Chromium to launch (default: ``chromium`` on PATH).
        chromium_sandbox: use Chromium's own sandbox; by default off when running as root, where
            Chromium refuses it.
    """

    def __init__(
        self, screenshot_dir: Path, executable: Optional[str] = None, chromium_sandbox: Optional[bool] = None
    ) -> None:
        self.screenshot_dir = screenshot_dir
        self.executable = find_chromium(executable)
        self.chromium_sandbox = (os.geteuid() != 0) if chromium_sandbox is None else chromium_sandbox
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentexec-browser")
        self._playwright: Optional[Playwright] = None
        self._browser: Optional[Browser] = None
        self._page: Optional[Page] = None
        self._crashed: Optional[str] = None  # why the page or browser went away, until it is replaced
        self._tag = secrets.token_hex(4)
        self._shots = 0

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func`` on the browser's thread and return its result (or raise its exception)."""
        return self._thread.submit(func, *args).result()

    # -- life cycle (on the browser thread) -------------------------------------------------------

    def _launch(self) -> None:
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        flags = [*CHROMIUM_FLAGS, *([] if self.chromium_sandbox else ["--no-sandbox"])]
        browser = self._playwright.chromium.launch(
            executable_path=self.executable, args=flags, headless=True, chromium_sandbox=self.chromium_sandbox
        )
        browser.on("disconnected", lambda _browser: self._mark_crashed("the browser closed or crashed"))
        self._browser = browser
        self._new_page()

    def _new_page(self) -> Page:
        assert self._browser is not None
        context = self._browser.new_context(viewport=VIEWPORT, service_workers="block", accept_downloads=False)
        page = context.new_page()
        page.on("crash", lambda _page: self._mark_crashed("the page crashed"))
        self._page = page
        self._crashed = None
        return page

    def _mark_crashed(self, why: str) -> None:
        self._crashed = self._crashed or why

    def close(self) -> None:
        """Close the browser and stop playwright; safe to call more than once."""
        if self._playwright is not None:
            try:
                self.call(self._shutdown)
            finally:
                self._playwright = None
        self._thread.shutdown(wait=True)

    def _shutdown(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Error:
                pass  # it had crashed already
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()

    def _ready_page(self) -> tuple[Page, list[str]]:
        """The page to work on, replacing a crashed page or browser first (with a note saying so)."""
        notes: list[str] = []
        if self._browser is None:
            self._launch()
        elif not self._browser.is_connected():
            why = self._crashed or "the browser closed"
            self._launch()
            notes.append(f"{why}; a fresh browser was started (the previous page's state is gone)")
        elif self._page is None or self._page.is_closed() or self._crashed:
            why = self._crashed or "the page was closed"
            self._new_page()
            notes.append(f"{why}; a fresh page was opened")
        assert self._page is not None
        return self._page, notes

    # -- browsing (on the browser thread) ---------------------------------------------------------

    def browse(
        self, url: Optional[str], steps: list[dict[str, Any]], axtree: bool, timeout: float, screenshot: bool
    ) -> PageState:
        """Open ``url`` (if given), carry out ``steps`` in order, and describe the page.

        Raises ``StepError`` (with the step's number) or playwright's ``Error`` when a step fails.
        """
        return self.call(self._browse, url, steps, axtree, timeout, screenshot)

    def _browse(
        self, url: Optional[str], steps: list[dict[str, Any]], axtree: bool, timeout: float, screenshot: bool
    ) -> PageState:
        page, notes = self._ready_page()
        page.set_default_timeout(timeout * 1000)
        page.set_default_navigation_timeout(timeout * 1000)
        status: Optional[int] = None
        if url:
            status = self._goto(page, url)
        elif page.url == "about:blank" and steps and "goto" not in steps[0]:
            raise StepError("no page is open yet: give a url (or start with a goto step)")
        for number, step in enumerate(steps, 1):
            try:
                status = self._step(page, step, timeout) or status
            except (StepError, Error) as exc:
                raise StepError(f"step {number} {_describe(step)} failed: {first_line(exc)}") from exc
        return self._state(page, axtree, screenshot, status, notes)

    def _goto(self, page: Page, url: str) -> Optional[int]:
        response = page.goto(normalise_url(url), wait_until="load")
        return response.status if response is not None else None

    def _step(self, page: Page, step: dict[str, Any], timeout: float) -> Optional[int]:
        """Carry out one step; returns the HTTP status when it loaded a page by URL."""
        if "goto" in step:
            return self._goto(page, step["goto"])
        if "click" in step:
            locate(page, step["click"]).click()
        elif "fill" in step:
            locate_field(page, step["fill"]["selector"]).fill(step["fill"]["value"])
        elif "press" in step:
            focused = page.locator("*:focus")
            if focused.count():  # a locator's press waits for the navigation it starts (a form's Enter)
                focused.first.press(step["press"])
            else:
                page.keyboard.press(step["press"])
        elif "scroll" in step:
            direction = -1 if step["scroll"] == "up" else 1
            page.evaluate("(direction) => window.scrollBy(0, direction * window.innerHeight * 0.8)", direction)
        elif "back" in step:
            if page.go_back(wait_until="load") is None:
                raise StepError("there is no previous page to go back to")
        page.wait_for_load_state("load")
        return None

    def _state(self, page: Page, axtree: bool, screenshot: bool, status: Optional[int], notes: list[str]) -> PageState:
        state = PageState(url=page.url, title=page.title(), status=status, notes=notes)
        body = page.locator("body")
        if axtree:
            state.text = body.aria_snapshot() if body.count() else ""
        else:
            state.text = body.inner_text() if body.count() else page.content()
        if screenshot:
            self._shots += 1
            self.screenshot_dir.mkdir(parents=True, exist_ok=True)
            path = self.screenshot_dir / f"browse-{self._tag}-{self._shots}.png"
            page.screenshot(path=str(path))
            state.screenshot = str(path)
        return state

    def describe_current(self) -> tuple[str, str]:
        """The open page's URL and title, for an error observation; empty if there is none."""
        return self.call(self._current)

    def _current(self) -> tuple[str, str]:
        page = self._page
        if page is None or page.is_closed() or self._crashed:
            return "", ""
        try:
            return page.url, page.title()
        except Error:
            return page.url, ""


def locate(page: Page, target: str) -> Locator:
    """The element a click means: a CSS selector that matches, else a button, link or text with that text."""
    try:
        by_css = page.locator(target)
        if by_css.count():
            return by_css.first
    except Error:
        pass  # not a valid selector: it can only be text
    candidates = (
        page.get_by_role("button", name=target, exact=True),
        page.get_by_role("link", name=target, exact=True),
        page.get_by_text(target, exact=True),
        page.get_by_role("button", name=target),
        page.get_by_role("link", name=target),
        page.get_by_text(target),
    )
    for candidate in candidates:
        if candidate.count():
            return candidate.first
    raise StepError(f"nothing on the page matches {target!r}, as a CSS selector or as visible text")


def locate_field(page: Page, selector: str) -> Locator:
    """The field a fill means: a CSS selector that matches, else a field with that label or placeholder."""
    try:
        by_css = page.locator(selector)
        if by_css.count():
            return by_css.first
    except Error:
        pass
    for candidate in (page.get_by_label(selector), page.get_by_placeholder(selector)):
        if candidate.count():
            return candidate.first
    raise StepError(f"no field matches {selector!r}, as a CSS selector, a label or a placeholder")


def normalise_url(url: str) -> str:
    """A URL as Chromium needs it: ``example.com/x`` gets ``http://``; URLs with a scheme are kept."""
    if "://" in url or url.startswith(("about:", "data:", "chrome:", "javascript:")):
        return url
    return "http://" + url


def first_line(exc: BaseException) -> str:
    """Playwright's messages carry a call log after the first line; the first line is the reason."""
    text = str(exc).strip().splitlines()
    reason = text[0] if text else type(exc).__name__
    for prefix in ("Page.", "Locator.", "Keyboard.", "Mouse.", "Frame."):
        if reason.startswith(prefix) and ": " in reason:
            return reason.split(": ", 1)[1]
    return reason


def _describe(step: dict[str, Any]) -> str:
    name = next(iter(step))
    return f"({name} {step[name]!r})" if name != "back" else "(back)"
