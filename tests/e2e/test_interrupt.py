"""Stopping a run from outside: Ctrl-C (SIGINT) and SIGTERM end it cleanly with exit 130 and a closed
log; ``kill -9`` leaves a log that is valid up to its last line and holds every started action.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import read_log, write_json

SLOW_TASK = {
    "id": "slow",
    "actions": [
        {"action": "run", "args": {"command": "echo started; sleep 30"}},
        {"action": "run", "args": {"command": "echo never"}},
    ],
}


@pytest.fixture
def slow_run(project: Path):
    """``agentexec run`` on the slow task, killed with its command at teardown if a test left it running."""
    write_json(project / "t.json", SLOW_TASK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", "t.json", "--log", "run.jsonl"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sleeps: list[int] = []
    yield proc, sleeps
    sleeps += _sleeps(proc.pid)
    if proc.poll() is None:
        proc.kill()
        proc.communicate()
    for pid in sleeps:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def wait_for_action(log: Path, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    """Poll until the slow action is in the log and its ``sleep`` runs under the agentexec process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and "sleep 30" in log.read_text() and _sleeps(proc.pid):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the action never started")


def _sleeps(root: int) -> list[int]:
    """Descendants of ``root`` running ``sleep 30``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat_fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", b"30"] and _descends(int(entry), root, int(stat_fields[1])):
            found.append(int(entry))
    return found


def _descends(pid: int, root: int, parent: int) -> bool:
    while parent > 1:
        if parent == root:
            return True
        try:
            parent = int(Path(f"/proc/{parent}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_interrupts_the_action_and_closes_the_log(project: Path, slow_run, sig: signal.Signals) -> None:
    proc, sleeps = slow_run
    log = project / "run.jsonl"
    wait_for_action(log, proc)
    sleeps += _sleeps(proc.pid)
    sent = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, out + err
    assert time.monotonic() - sent < 3
    assert "Traceback" not in out + err
    header, action, streamed, observation, final = read_log(log)
    assert header["task"]["id"] == "slow"
    assert streamed == {"output": "started\n", "cause": action["seq"]}  # shown live, not in the content
    assert action["action"] == "run" and action["args"]["command"] == "echo started; sleep 30"
    assert observation["observation"] == "error" and observation["cause"] == action["seq"]
    assert observation["extras"]["interrupted"] is True and "interrupted" in observation["content"]
    assert final["result"]["outcome"] == "interrupted" and final["result"]["passed"] is False
    assert "interrupted · failed · 1 step" in out
    assert not [pid for pid in sleeps if Path(f"/proc/{pid}").exists()]


def test_kill_9_leaves_a_valid_log_with_every_started_action(project: Path, slow_run) -> None:
    proc, sleeps = slow_run
    log = project / "run.jsonl"
    wait_for_action(log, proc)
    sleeps += _sleeps(proc.pid)
    proc.kill()
    proc.communicate(timeout=10)
    text = log.read_text()
    assert text.endswith("\n")
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["format"] == 1
    assert [r["action"] for r in records if "action" in r] == ["run"]
    assert records[-1]["args"]["command"] == "echo started; sleep 30"
