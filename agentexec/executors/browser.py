"""The ``browse`` action: a headless Chromium per executor, opened on first use, closed on ``close()``.

A mixin of ``ActionExecutor``. The steps are pydantic models, so a misspelled step is an argument
error naming it before the browser starts, and ``agentexec actions --json`` shows their schema.
Playwright (the ``browser`` extra) is imported only when the first page is opened; a subclass
replaces the browser by overriding ``make_browser()``, or picks another Chromium with
``browser_executable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict

from agentexec.events import Observation, error
from agentexec.executors.base import BaseActionExecutor, action
from agentexec.executors.extras import cut_middle, outputs_directory

if TYPE_CHECKING:
    from pathlib import Path

    from agentexec.executors.browser_session import BrowserSession, PageState


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Click(_Step):
    """Click the element a CSS selector or a visible text names."""

    click: str


class FillField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    selector: str
    value: str


class Fill(_Step):
    """Type a value into a field (CSS selector, label or placeholder), replacing its content."""

    fill: FillField


class Press(_Step):
    """Press a key on the focused element: Enter, Tab, ArrowDown, Control+A, ..."""

    press: str


class Scroll(_Step):
    """Scroll by most of a screen."""

    scroll: Literal["down", "up"]


class Back(_Step):
    """Go back one page in the history."""

    back: Literal[True]


class Goto(_Step):
    """Open a URL."""

    goto: str


BrowseStep = Union[Click, Fill, Press, Scroll, Back, Goto]


class BrowserActions(BaseActionExecutor):
    """``browse``: one Chromium per executor, started by the first ``browse``."""

    #: Defaults for a class that mixes this in without ``ActionExecutor``'s options.
    max_output_chars: int = 30_000
    output_dir: Optional[Path] = None
    #: The Chromium to launch (default: ``chromium`` on PATH, as Debian's package installs it).
    browser_executable: Optional[str] = None
    browser: Optional[BrowserSession] = None

    def make_browser(self) -> BrowserSession:
        """The browser the first ``browse`` starts; override to launch another or with other options."""
        from agentexec.executors.browser_session import BrowserSession

        return BrowserSession(outputs_directory(self.output_dir), self.browser_executable)

    @action(extra="browser")
    def browse(
        self,
        url: Optional[str] = None,
        steps: Optional[list[BrowseStep]] = None,
        axtree: bool = False,
        timeout: float = 30.0,
        screenshot: bool = True,
    ) -> Observation:
        """Open a web page in a headless browser and act on it; returns its text, URL, title and a screenshot.

        The page stays open between browse actions, so later ones can go on with steps alone.

        Args:
            url: the page to open first (optional once a page is open).
            steps: carried out in order, each one of {"click": CSS or visible text}, {"fill": {"selector":
                CSS, label or placeholder, "value": text}}, {"press": key}, {"scroll": "down" or "up"},
                {"back": true}, {"goto": url}.
            axtree: return the page's accessibility tree instead of its text.
            timeout: seconds each navigation or step may take.
            screenshot: save a screenshot of the page (its path is in extras.screenshot).
        """
        from playwright.sync_api import Error, TimeoutError

        from agentexec.executors.browser_session import StepError

        if not url and not steps:
            return error("browse needs a url, steps, or both")
        plain = [step.model_dump() for step in steps or []]
        if self.browser is None:
            self.browser = self.make_browser()
        try:
            state = self.browser.browse(url, plain, axtree, timeout, screenshot)
        except (StepError, Error) as exc:
            return self._browse_error(exc, url, timeout, TimeoutError)
        return Observation(observation="browse", content=self._page_text(state), extras=_page_extras(state))

    def _page_text(self, state: PageState) -> str:
        header = f"URL: {state.url}\nTitle: {state.title}\n"
        if state.status is not None and state.status >= 400:
            header += f"[the server answered HTTP {state.status}]\n"
        notes = "".join(f"[{note}]\n" for note in state.notes)
        return notes + header + "\n" + cut_middle(state.text, self.max_output_chars)

    def _browse_error(self, exc: Exception, url: Optional[str], timeout: float, timeout_type: type) -> Observation:
        """An error observation that says what failed, in the agent's terms, and where the browser is now."""
        from agentexec.executors.browser_session import first_line

        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, timeout_type):
            what = f"timed out after {timeout:g} s"
            reason = str(exc) if exc is not cause else f"opening {url} {what}"
        else:
            reason = first_line(exc)
            if exc is cause and url:
                reason = f"cannot open {url}: {reason}"
        assert self.browser is not None
        page_url, title = self.browser.describe_current()
        lost = "closed" in reason or "crash" in reason.lower()
        if lost:
            reason += " (the browser or page is gone; the next browse starts a fresh one)"
        return error(f"browse: {reason}", url=page_url, title=title, timed_out=isinstance(cause, timeout_type))

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = None
        super().close()


def _page_extras(state: PageState) -> dict[str, Any]:
    extras: dict[str, Any] = {"url": state.url, "title": state.title}
    if state.status is not None:
        extras["status"] = state.status
    if state.screenshot:
        extras["screenshot"] = state.screenshot
    if state.notes:
        extras["notes"] = state.notes
    return extras
