"""``run_ipython`` against a real IPython kernel, through ``agentexec.connect``."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import agentexec
from tests.helpers import bwrap_unavailable

pytest.importorskip("jupyter_client", reason="the ipython extra is not installed: pip install 'agentexec[ipython]'")
pytest.importorskip("ipykernel", reason="the ipython extra is not installed: pip install 'agentexec[ipython]'")

#: A 1x1 PNG, displayed by a cell to check that images become files.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def cell(rt, code: str, **args):
    return rt.execute({"action": "run_ipython", "args": {"code": code, **args}})


@pytest.fixture(scope="module")
def kernel_rt(tmp_path_factory):
    root = tmp_path_factory.mktemp("ipython")
    with agentexec.connect(
        executor="agentexec.executors:ActionExecutor", workspace=str(root / "ws"), config=None
    ) as rt:
        yield rt


def test_state_persists_and_the_workspace_is_the_cwd(kernel_rt):
    assert cell(kernel_rt, "x = 40 + 2\nx").content == "42\n"
    observation = cell(kernel_rt, "import os\nprint(x, os.getcwd())")
    assert observation.observation == "run_ipython"
    assert observation.content == f"42 {kernel_rt.workspace}\n"
    assert observation.extras["status"] == "ok"
    assert observation.extras["execution_count"] == 2


def test_output_streams_while_the_cell_runs(kernel_rt):
    chunks: list[str] = []
    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
    observation = kernel_rt.execute({"action": "run_ipython", "args": {"code": code}}, chunks.append)
    assert observation.content == "tick 0\ntick 1\ntick 2\n"
    assert len(chunks) >= 2 and "".join(chunks) == observation.content


def test_an_exception_gives_a_clean_traceback(kernel_rt):
    observation = cell(kernel_rt, "def f():\n    return 1 / 0\nf()")
    assert observation.extras["status"] == "error"
    assert observation.extras["error"] == "ZeroDivisionError"
    assert "ZeroDivisionError: division by zero" in observation.content
    assert "return 1 / 0" in observation.content
    assert "\x1b" not in observation.content
    assert cell(kernel_rt, "x").content == "42\n"  # the kernel goes on


def test_images_are_saved_as_files_not_base64(kernel_rt):
    code = f"from IPython.display import Image, display\ndisplay(Image(data={PIXEL!r}))"
    observation = cell(kernel_rt, code)
    [path] = observation.extras["images"]
    assert Path(path).read_bytes() == PIXEL
    assert path in observation.content
    assert "iVBOR" not in observation.content


def test_a_timeout_interrupts_the_cell_and_keeps_the_state(kernel_rt):
    observation = cell(kernel_rt, "import time\ny = 7\ntime.sleep(30)", timeout=1)
    assert observation.extras["status"] == "timeout"
    assert "interrupted" in observation.content and "keeps its state" in observation.content
    assert observation.extras["duration"] < 10
    assert cell(kernel_rt, "x + y").content == "49\n"


def test_a_dead_kernel_is_restarted_and_the_observation_says_so(tmp_path):
    with agentexec.connect(executor="agentexec.executors:ActionExecutor", workspace=str(tmp_path)) as rt:
        cell(rt, "z = 1")
        died = cell(rt, "import os\nos._exit(3)")
        assert died.extras["status"] == "died" and died.extras["restarted"] is True
        assert "fresh" in died.content and "gone" in died.content
        after = cell(rt, "z")
        assert after.extras["error"] == "NameError"  # a new kernel: the old state is gone
        assert cell(rt, "1 + 1").content == "2\n"


def test_close_stops_the_kernel(tmp_path):
    rt = agentexec.connect(executor="agentexec.executors:ActionExecutor", workspace=str(tmp_path))
    pid = int(cell(rt, "import os\nos.getpid()").content)
    rt.close()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.parametrize("runtime", ["process", "sandbox"])
def test_the_kernel_runs_inside_remote_runtimes(tmp_path, runtime):
    if runtime == "sandbox" and bwrap_unavailable():
        pytest.skip(bwrap_unavailable())
    with agentexec.connect(runtime=runtime, workspace=str(tmp_path)) as rt:
        cell(rt, "a = [1, 2]")
        observation = cell(rt, "import os\na.append(3)\nprint(a, os.getcwd())")
        assert observation.content == f"[1, 2, 3] {tmp_path.resolve()}\n", observation
