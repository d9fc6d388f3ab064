"""Kills and signals in the middle of an action: the user gets one clear ending, the event log stays
valid JSON lines holding every action that ran, and no process the run started outlives it.

Every process agentexec starts inherits a marker variable from its environment; after each fault
``/proc/*/environ`` is scanned for it, so a leaked ``sleep`` (or a detached ``setsid`` child) fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Optional

import pytest

from tests.helpers import REPO

SLOW = "sleep 37.5"


def marked_processes(marker: str) -> list[int]:
    """Pids whose environment holds ``FAULT_MARKER=marker`` (zombies have an empty environ)."""
    needle = f"FAULT_MARKER={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


class Run:
    """``agentexec run`` of a task in a subprocess, watched through its log and /proc."""

    def __init__(self, root: Path, actions: list[dict], runtime: str = "local", config: str = "") -> None:
        self.root = root
        self.marker = uuid.uuid4().hex
        self.log = root / "run.jsonl"
        (root / "ws").mkdir(exist_ok=True)
        (root / "t.json").write_text(json.dumps({"id": "fault", "workspace": "ws", "actions": actions}))
        (root / "agentexec.toml").write_text(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
        env["FAULT_MARKER"] = self.marker
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentexec", "run", "t.json", "--log", str(self.log), "--runtime", runtime],
            cwd=root,
            env={**env, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def events(self) -> list[dict]:
        """Every complete line of the log; each must be valid JSON (a torn last line would fail here)."""
        if not self.log.exists():
            return []
        text = self.log.read_text()
        lines = text.split("\n")
        complete = lines[:-1] if not text.endswith("\n") else lines
        return [json.loads(line) for line in complete if line]

    def wait_for(self, what: str, predicate, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None:
                raise AssertionError(f"run ended before {what}: {self.process.communicate()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)

    def wait_for_slow_command(self) -> int:
        """The pid of the running ``sleep``, once its action is in the log."""
        found: list[int] = []

        def running() -> bool:
            found[:] = [p for p in marked_processes(self.marker) if cmdline(p).startswith(SLOW)]
            return bool(found) and any(e.get("args", {}).get("command") == SLOW for e in self.events())

        self.wait_for("the slow command", running)
        return found[0]

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def assert_nothing_left(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while (left := marked_processes(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == [], [cmdline(p) for p in left]

    def assert_every_action_logged(self, commands: list[str]) -> list[dict]:
        events = self.events()
        assert events and "agentexec" in events[0]
        logged = [e["args"]["command"] for e in events if e.get("action") == "run"]
        assert logged == commands
        seqs = [e["seq"] for e in events if "seq" in e]
        assert seqs == list(range(1, len(seqs) + 1))
        return events


def run_action(command: str) -> dict:
    return {"action": "run", "args": {"command": command}}


ACTIONS = [run_action("echo before"), run_action(SLOW), run_action("echo after")]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"])
@pytest.mark.parametrize("runtime", ["local", "process"])
def test_signal_to_agentexec_ends_the_run_cleanly(tmp_path: Path, runtime: str, signum: int, code: int) -> None:
    run = Run(tmp_path, ACTIONS, runtime)
    run.wait_for_slow_command()
    run.process.send_signal(signum)
    returncode, out, err = run.finish()
    assert returncode in (code, 130), err
    assert "Traceback" not in out + err
    assert "interrupted" in out
    events = run.assert_every_action_logged(["echo before", SLOW])
    assert events[-1]["result"]["outcome"] == "interrupted"
    run.assert_nothing_left()


@pytest.mark.parametrize("runtime", ["local", "process"])
def test_kill_9_of_agentexec_leaves_a_valid_log_and_no_process(tmp_path: Path, runtime: str) -> None:
    run = Run(tmp_path, ACTIONS, runtime)
    run.wait_for_slow_command()
    run.process.kill()
    returncode, _, _ = run.finish()
    assert returncode == -signal.SIGKILL
    run.assert_every_action_logged(["echo before", SLOW])
    run.assert_nothing_left()


def test_kill_9_of_bash_is_an_error_observation_and_the_run_goes_on(tmp_path: Path) -> None:
    run = Run(tmp_path, ACTIONS)
    sleeper = run.wait_for_slow_command()
    os.kill(ppid(sleeper), signal.SIGKILL)
    returncode, out, err = run.finish()
    assert "Traceback" not in out + err
    events = run.assert_every_action_logged(["echo before", SLOW, "echo after"])
    died = next(e for e in events if e.get("cause") == 3)
    assert "bash was killed by signal 9" in died["content"], died
    assert "fresh session" in died["content"]
    after = next(e for e in events if e.get("cause") == 5)
    assert after["content"].startswith("after\n")
    assert returncode == 0, out + err
    run.assert_nothing_left()


def test_kill_9_of_the_executor_server_is_one_clear_failure(tmp_path: Path) -> None:
    run = Run(tmp_path, ACTIONS, "process")
    sleeper = run.wait_for_slow_command()
    server: Optional[int] = next(
        (p for p in marked_processes(run.marker) if "serve" in cmdline(p) and "agentexec" in cmdline(p)), None
    )
    assert server is not None, [cmdline(p) for p in marked_processes(run.marker)]
    assert sleeper
    os.kill(server, signal.SIGKILL)
    returncode, out, err = run.finish()
    assert "Traceback" not in out + err
    events = run.assert_every_action_logged(["echo before", SLOW, "echo after"])
    died = next(e for e in events if e.get("cause") == 3)
    assert died["observation"] == "error", died
    run.assert_nothing_left()
