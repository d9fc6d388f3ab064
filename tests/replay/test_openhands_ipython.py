"""OpenHands trajectories with ``run_ipython`` and ``browse`` steps replay through our actions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agentexec.replay import open_log, steps
from tests.helpers import run_cli

pytest.importorskip("jupyter_client", reason="the ipython extra is not installed: pip install 'agentexec[ipython]'")

#: What OpenHands serialises for an IPythonRunCellAction, bookkeeping included.
CELL_BOOKKEEPING = {
    "include_extra": True,
    "confirmation_state": "confirmed",
    "security_risk": 0,
    "kernel_init_code": "from agentskills import *",
}
PAGE = "data:text/html,<title>Notes</title><p>replayed page</p>"


def _trajectory() -> list[dict]:
    jupyter_note = "\n[Jupyter current working directory: /workspace]\n[Jupyter Python interpreter: /openhands/python]"
    return [
        {"id": 0, "source": "user", "action": "message", "args": {"content": "compute and save the answer"}},
        {"id": 1, "source": "agent", "action": "run_ipython",
         "args": {"code": "answer = 6 * 7\nprint(answer)", "thought": "compute it", **CELL_BOOKKEEPING}},
        {"id": 2, "source": "agent", "cause": 1, "observation": "run_ipython", "content": "42" + jupyter_note,
         "extras": {"code": "answer = 6 * 7\nprint(answer)", "image_urls": None}},
        {"id": 3, "source": "agent", "action": "run_ipython",
         "args": {"code": "open('/workspace/answer.txt', 'w').write(str(answer))\nanswer + 1", **CELL_BOOKKEEPING}},
        {"id": 4, "source": "agent", "cause": 3, "observation": "run_ipython", "content": "Out[1]: 43" + jupyter_note,
         "extras": {"code": "...", "image_urls": None}},
        {"id": 5, "source": "agent", "action": "browse", "args": {"url": PAGE, "thought": "", "return_axtree": False}},
        {"id": 6, "source": "agent", "cause": 5, "observation": "browse", "content": "replayed page",
         "extras": {"url": PAGE, "screenshot": "", "error": False}},
        {"id": 7, "source": "agent", "action": "finish", "args": {"final_thought": "saved"}},
    ]  # fmt: skip


def test_imported_cells_and_pages_map_onto_run_ipython_and_browse(tmp_path: Path) -> None:
    path = tmp_path / "oh.json"
    path.write_text(json.dumps(_trajectory()))
    recorded = open_log(path)
    assert recorded.format == "openhands"
    actions = [step.action for step in steps(recorded.entries())]
    assert [action.action for action in actions] == ["run_ipython", "run_ipython", "browse", "finish"]
    assert actions[0].args == {"code": "answer = 6 * 7\nprint(answer)"} and actions[0].thought == "compute it"
    assert actions[2].args == {"url": PAGE}
    assert any("kernel_init_code is not run" in note for note in recorded.notes)
    assert not any("no agentexec equivalent" in note for note in recorded.notes)


def test_imported_cells_replay_in_one_kernel_in_the_replay_workspace(tmp_path: Path) -> None:
    if shutil.which("chromium") is None or not _has("playwright"):
        pytest.skip("browse needs pip install 'agentexec[browser]' and apt-get install chromium")
    path = tmp_path / "oh.json"
    path.write_text(json.dumps(_trajectory()))
    done = run_cli(
        "replay", str(path), "--verify", "--workspace", "ws", "--json", cwd=tmp_path, env={"TMPDIR": str(tmp_path)},
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    cells = [line for line in lines if line.get("observation") == "run_ipython"]
    assert [cell["content"].strip() for cell in cells] == ["42", "43"]  # the state carried over
    assert (tmp_path / "ws" / "answer.txt").read_text() == "42"  # /workspace became the replay's workspace
    page = next(line for line in lines if line.get("observation") == "browse")
    assert "replayed page" in page["content"] and page["extras"]["title"] == "Notes"
    result = lines[-1]["result"]
    assert result["passed"] and result["verify"]["compared"] == 3 and result["verify"]["diverged"] == 0


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
