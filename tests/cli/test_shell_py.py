"""``agentexec shell``'s ``/py``: Python cells in the run's IPython kernel, typed as a person would."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect
import pytest

from tests.cli.test_shell import actions_of, home, prompt, spawn

pytest.importorskip("jupyter_client", reason="the ipython extra is not installed: pip install 'agentexec[ipython]'")

__all__ = ["home"]  # the fixture, imported to be found by pytest


def test_py_runs_cells_in_one_kernel_and_ctrl_c_interrupts_a_cell(home: Path) -> None:
    child = spawn(home)
    child.timeout = 60  # the first cell starts the kernel
    child.sendline("/py answer = 6 * 7; print('set', answer)")
    child.expect("set 42")
    prompt(child, "-")
    child.sendline("/py")  # a multi-line cell, ended by a lone '.'
    child.expect("end with a lone '.'")
    for line in ("def double(n):", "    return 2 * n", "", "double(answer)", "."):
        child.sendline(line)
    child.expect(r"\r\n84\r\n")
    prompt(child, "-")
    child.sendline("/py import time; time.sleep(30)")
    child.expect("time.sleep")
    time.sleep(1)
    started = time.monotonic()
    child.sendintr()
    child.expect("interrupted")
    prompt(child, "-")
    assert time.monotonic() - started < 10
    child.sendline("/py print('still', answer)")  # the interrupted kernel kept its state
    child.expect("still 42")
    prompt(child, "-")
    assert time.monotonic() - started < 15  # the sleep was stopped, not waited out
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    cells = [a["args"]["code"] for a in actions_of(home) if a["action"] == "run_ipython"]
    assert cells == [
        "answer = 6 * 7; print('set', answer)",
        "def double(n):\n    return 2 * n\n\ndouble(answer)",
        "import time; time.sleep(30)",
        "print('still', answer)",
    ]
