"""``browse`` against pages served on 127.0.0.1 by a server started here, in the system Chromium."""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

import agentexec
from tests.executors.test_ipython import PIXEL

pytest.importorskip("playwright", reason="the browser extra is not installed: pip install 'agentexec[browser]'")
if shutil.which("chromium") is None:
    pytest.skip("Chromium is not installed: apt-get install chromium", allow_module_level=True)

PAGES = {
    "/": "<title>Home</title><h1>Welcome home</h1><a href='/form'>Go to the form</a>",
    "/form": (
        "<title>Form</title><form action='/submitted'><label for='n'>Name</label>"
        "<input id='n' name='name'><button type='submit'>Send</button></form>"
    ),
    "/image": "<title>Picture</title><p>A picture:</p><img src='/pixel.png' alt='one pixel'>",
    "/long": "<title>Long</title>" + "".join(f"<p>line {i}</p>" for i in range(300)),
}


class Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlparse(self.path)
        if url.path == "/slow":
            time.sleep(3)
        if url.path == "/pixel.png":
            body, kind = PIXEL, "image/png"
        elif url.path == "/submitted":
            name = parse_qs(url.query).get("name", [""])[0]
            body, kind = f"<title>Thanks</title><p>Hello, {name}!</p>".encode(), "text/html"
        elif url.path in PAGES or url.path == "/slow":
            body, kind = PAGES.get(url.path, "<title>Slow</title>at last").encode(), "text/html"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the browser gave up on a slow page

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def rt(tmp_path_factory):
    with agentexec.connect(workspace=str(tmp_path_factory.mktemp("browse"))) as runtime:
        yield runtime


def browse(rt, **args):
    return rt.execute({"action": "browse", "args": args})


def test_a_page_gives_its_text_url_title_and_a_screenshot(rt, site):
    observation = browse(rt, url=site + "/")
    assert observation.observation == "browse", observation
    assert "Welcome home" in observation.content and "Go to the form" in observation.content
    assert observation.extras["url"] == site + "/" and observation.extras["title"] == "Home"
    assert observation.extras["status"] == 200
    assert Path(observation.extras["screenshot"]).read_bytes().startswith(b"\x89PNG")


def test_a_link_followed_by_its_text_then_back(rt, site):
    browse(rt, url=site + "/")
    followed = browse(rt, steps=[{"click": "Go to the form"}])
    assert followed.extras["title"] == "Form", followed
    back = browse(rt, steps=[{"back": True}], screenshot=False)
    assert back.extras["title"] == "Home" and "screenshot" not in back.extras


def test_a_form_filled_and_submitted(rt, site):
    by_click = browse(rt, url=site + "/form", steps=[{"fill": {"selector": "#n", "value": "Ada"}}, {"click": "Send"}])
    assert "Hello, Ada!" in by_click.content, by_click
    by_key = browse(
        rt, steps=[{"goto": site + "/form"}, {"fill": {"selector": "Name", "value": "Grace"}}, {"press": "Enter"}]
    )
    assert "Hello, Grace!" in by_key.content and by_key.extras["url"].endswith("/submitted?name=Grace")


def test_the_accessibility_tree_and_a_page_with_an_image(rt, site):
    observation = browse(rt, url=site + "/image", axtree=True)
    assert 'img "one pixel"' in observation.content, observation.content
    assert "A picture:" in observation.content


def test_scrolling_moves_the_screenshot_not_the_text(rt, site):
    top = browse(rt, url=site + "/long")
    down = browse(rt, steps=[{"scroll": "down"}])
    assert "line 299" in down.content and down.content == top.content
    assert Path(down.extras["screenshot"]).read_bytes() != Path(top.extras["screenshot"]).read_bytes()


def test_a_slow_page_times_out_with_a_clear_error_and_browsing_goes_on(rt, site):
    slow = browse(rt, url=site + "/slow", timeout=1)
    assert slow.observation == "error" and slow.extras["timed_out"] is True
    assert "timed out after 1 s" in slow.content, slow.content
    assert browse(rt, url=site + "/").extras["title"] == "Home"


def test_navigation_errors_and_bad_steps_are_error_observations(rt, site):
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    refused = browse(rt, url=closed)
    assert refused.observation == "error" and "ERR_CONNECTION_REFUSED" in refused.content, refused.content
    missing = browse(rt, url=site + "/", steps=[{"click": "No such button"}])
    assert missing.observation == "error"
    assert "step 1" in missing.content and "No such button" in missing.content
    misspelled = browse(rt, steps=[{"clik": "x"}])
    assert misspelled.observation == "error" and "bad arguments for action 'browse'" in misspelled.content
    assert browse(rt).observation == "error"  # neither a url nor steps


def test_a_crashed_page_is_reported_and_replaced(rt, site):
    crashed = browse(rt, url="chrome://crash", timeout=5)
    assert crashed.observation == "error", crashed
    after = browse(rt, url=site + "/")
    assert after.extras["title"] == "Home"
    assert "fresh page" in after.content or "fresh browser" in after.content, after.content


def _chromium_children(parent: int) -> list[int]:
    """Chromium processes started (through playwright's driver) by ``parent``: the browsers' main processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
        except OSError:
            continue
        comm, fields = rest.rsplit(") ", 1)
        ppid = int(fields.split()[1])
        if "chrom" in comm and "chrom" not in _comm(ppid) and parent in _ancestors(ppid):
            found.append(int(pid))
    return found


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
        except OSError:
            break
    return chain


def test_a_killed_browser_is_replaced_on_the_next_browse(tmp_path, site):
    import os
    import signal

    with agentexec.connect(workspace=str(tmp_path)) as runtime:
        before = set(_chromium_children(os.getpid()))
        browse(runtime, url=site + "/")
        started = set(_chromium_children(os.getpid())) - before
        assert started, "no Chromium process was found"
        for pid in started:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in started):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        after = browse(runtime, url=site + "/")
        assert after.extras["title"] == "Home", after
        assert "fresh browser" in after.content


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except OSError:
        return "Z"
