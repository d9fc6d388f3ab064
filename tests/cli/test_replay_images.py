"""``replay --verify`` of runs whose cells displayed images and whose pages were screenshot.

Each run writes its images to a directory of its own under a random tag, so a replay's paths
never equal the recording's; verification must still pass, and still catch a real difference.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentexec.events import Action, Observation
from agentexec.replay import Step, Verifier
from tests.cli.test_replay import record, replay_json

PIXEL_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
SHOW_TWO_IMAGES = (
    "import base64\nfrom IPython.display import Image, display\n"
    f"pixel = base64.b64decode({PIXEL_B64!r})\n"
    "display(Image(data=pixel))\ndisplay(Image(data=pixel))\nprint('shown')"
)
PAGE = "data:text/html,<title>Still</title><p>a page that does not change</p>"


def _needs(module: str, extra: str) -> None:
    pytest.importorskip(module, reason=f"the {extra} extra is not installed: pip install 'agentexec[{extra}]'")


def test_a_run_with_cell_images_and_screenshots_replays_verified(project: Path) -> None:
    _needs("jupyter_client", "ipython")
    _needs("playwright", "browser")
    if shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed: apt-get install chromium")
    actions = [
        {"action": "run_ipython", "args": {"code": SHOW_TWO_IMAGES}},
        {"action": "browse", "args": {"url": PAGE}},
    ]
    log = record(project, actions)
    recorded = [json.loads(line) for line in log.read_text().splitlines()[1:]]
    images = next(event["extras"]["images"] for event in recorded if event.get("observation") == "run_ipython")
    screenshot = next(event["extras"]["screenshot"] for event in recorded if event.get("observation") == "browse")
    assert len(images) == 2 and all(Path(path).is_file() for path in images + [screenshot])

    code, lines, stderr = replay_json(project, log, "--verify")
    assert code == 0, stderr
    result = lines[-1]["result"]
    assert result["passed"] and result["verify"]["diverged"] == 0, lines
    replayed = next(line for line in lines if line.get("observation") == "run_ipython")
    assert replayed["extras"]["images"] != images  # other files, yet the same observation


def _step(content: str, images: list[str]) -> Step:
    observation = Observation(observation="run_ipython", content=content, extras={"status": "ok", "images": images})
    return Step(seq=1, action=Action(action="run_ipython", args={"code": "show()"}), recorded=observation)


def test_image_paths_are_normalised_but_their_number_and_kind_still_count(tmp_path: Path) -> None:
    verifier = Verifier([str(tmp_path)], [])
    first = "/home/me/run.jsonl.outputs/ipython-0a1b2c3d-1.png"
    step = _step(f"[image image/png saved to {first}]\nshown", [first])
    other = "/srv/logs/replayed.jsonl.outputs/ipython-9f8e7d6c-4.png"
    same = Observation(
        observation="run_ipython",
        content=f"[image image/png saved to {other}]\nshown",
        extras={"status": "ok", "images": [other]},
        cause=1,
    )
    assert verifier.check(step, same) is None
    svg = other.replace(".png", ".svg")
    as_svg = same.model_copy(update={"content": same.content.replace(other, svg), "extras": {"images": [svg]}})
    assert verifier.check(step, as_svg) is not None
    doubled = same.model_copy(update={"extras": {"status": "ok", "images": [other, other]}})
    divergence = verifier.check(step, doubled)
    assert divergence is not None and "<outputs>/ipython-<n>.png" in divergence.diff
