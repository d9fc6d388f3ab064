"""Actions that fight back: a raising or hanging handler, a full disk under the event log, a flood
of output, a command that closes its stdout or detaches, a fork bomb and a memory hog in the
sandbox. Each ends in one clear message and exit code, a valid log, and no process left behind.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.test_killed_mid_action import Run, run_action
from tests.helpers import REPO, bwrap_unavailable, read_log

HOSTILE = '''\
import time

from agentexec.executors import ActionExecutor, action


class Hostile(ActionExecutor):
    @action
    def explode(self, why: str) -> str:
        """Raise on purpose."""
        raise OSError(why)

    @action
    def hang(self, seconds: float) -> str:
        """Sleep in Python, past any patience."""
        time.sleep(seconds)
        return "woke"
'''


def observation_of(events: list[dict], seq: int) -> dict:
    return next(e for e in events if e.get("cause") == seq)


def test_a_raising_handler_is_an_error_observation_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "hostile.py").write_text(HOSTILE)
    actions = [{"action": "explode", "args": {"why": "disk on fire"}}, run_action("echo after")]
    run = Run(tmp_path, actions, config='[core]\nruntime_executor = "hostile:Hostile"\n')
    returncode, out, err = run.finish()
    assert returncode == 0, out + err
    events = run.events()
    assert "action 'explode' failed: OSError: disk on fire" in observation_of(events, 1)["content"]
    assert observation_of(events, 3)["content"] == "after\n"
    assert "Traceback" not in out + err
    run.assert_nothing_left()


def test_a_command_past_its_timeout_returns_and_is_killed_with_the_run(tmp_path: Path) -> None:
    actions = [
        {"action": "run", "args": {"command": "sleep 37.5", "timeout": 1}},
        run_action("echo refused"),
        {"action": "run", "args": {"command": "sleep 37.5", "timeout": 1}},
    ]
    run = Run(tmp_path, actions)
    returncode, out, err = run.finish()
    assert returncode == 0, out + err
    events = run.events()
    timed_out = observation_of(events, 1)
    assert timed_out["extras"]["timed_out"] == "timeout" and timed_out["extras"]["running"] is True
    assert "still running after 1 s" in timed_out["content"]
    assert "a command is still running" in observation_of(events, 3)["content"]
    assert events[-1]["result"]["outcome"] == "finished"
    run.assert_nothing_left()


def test_a_hanging_python_handler_is_interrupted_by_sigterm(tmp_path: Path) -> None:
    (tmp_path / "hostile.py").write_text(HOSTILE)
    actions = [{"action": "hang", "args": {"seconds": 60}}]
    run = Run(tmp_path, actions, "process", config='[core]\nruntime_executor = "hostile:Hostile"\n')
    run.wait_for("the hang action", lambda: any(e.get("action") == "hang" for e in run.events()))
    run.process.send_signal(signal.SIGTERM)
    returncode, out, err = run.finish()
    assert returncode in (130, 143), out + err
    assert "Traceback" not in out + err
    events = run.events()
    assert observation_of(events, 1)["extras"]["interrupted"] is True
    assert events[-1]["result"]["outcome"] == "interrupted"
    run.assert_nothing_left()


def test_a_full_disk_under_the_event_log_stops_the_run_with_a_whole_log(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk: the write that crosses the limit fails with EFBIG."""
    (tmp_path / "ws").mkdir()
    actions = [run_action("head -c 3000 /dev/zero | tr '\\0' x; echo") for _ in range(40)]
    (tmp_path / "t.json").write_text(json.dumps({"id": "disk", "workspace": "ws", "actions": actions}))

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run(
        [sys.executable, "-m", "agentexec", "run", "t.json", "--log", "run.jsonl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "cannot write the event log" in result.stdout and "File too large" in result.stdout
    text = (tmp_path / "run.jsonl").read_text()
    assert text.endswith("\n") and len(text) <= 64 * 1024
    events = [json.loads(line) for line in text.splitlines()]
    assert [e["seq"] for e in events[1:]] == list(range(1, len(events)))
    ran = [e for e in events if e.get("action") == "run"]
    assert 5 < len(ran) < 40, "the run stops at the first event it cannot record"


def test_a_command_that_closes_stdout_or_detaches_is_contained(tmp_path: Path) -> None:
    actions = [
        run_action("exec 1>&- 2>&-; sleep 0.2"),
        run_action("echo still here"),
        run_action("setsid sleep 37.5 < /dev/null > /dev/null 2>&1 & echo detached"),
        run_action("echo end"),
    ]
    run = Run(tmp_path, actions)
    returncode, out, err = run.finish()
    assert returncode == 0, out + err
    events = run.events()
    assert observation_of(events, 1)["extras"]["exit_code"] == 0
    assert observation_of(events, 3)["content"] == "still here\n"
    assert observation_of(events, 5)["content"] == "detached\n"
    assert observation_of(events, 7)["content"] == "end\n"
    run.assert_nothing_left()


#: Runs argv[1:] and prints its exit code and peak RSS (KiB) as the last two words on stderr.
PEAK_RSS_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, file=sys.stderr)
"""


def test_a_flood_of_output_is_survived_with_bounded_memory(tmp_path: Path) -> None:
    """8 MiB by default (FAULTS_OUTPUT_BYTES=1073741824 for the full gigabyte)."""
    size = int(os.environ.get("FAULTS_OUTPUT_BYTES", 8 << 20))
    (tmp_path / "ws").mkdir()
    actions = [run_action(f"head -c {size} /dev/zero | tr '\\0' y | fold -w 99"), run_action("echo end")]
    (tmp_path / "t.json").write_text(json.dumps({"id": "flood", "workspace": "ws", "actions": actions}))
    # Linux counts a forked child's copy of its parent in the peak it reports after exec, so the CLI
    # is started by a small launcher: its peak is agentexec's own, not the test process's.
    with open(tmp_path / "view.txt", "wb") as view:
        launched = subprocess.run(
            [sys.executable, "-c", PEAK_RSS_LAUNCHER, sys.executable, "-m", "agentexec", "run", "t.json"]
            + ["--log", "run.jsonl"],
            cwd=tmp_path,
            stdout=view,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    returncode, peak_kib = (int(field) for field in launched.stderr.split()[-2:])
    assert returncode == 0, (tmp_path / "view.txt").read_text()[-2000:]
    assert peak_kib < 200 * 1024, f"agentexec peaked at {peak_kib} KiB for {size} bytes of output"
    events = read_log(tmp_path / "run.jsonl")
    flood = observation_of(events, 1)
    assert flood["extras"]["exit_code"] == 0
    assert len(flood["content"]) < 1 << 20, "the log keeps a bounded excerpt, not the whole flood"
    assert observation_of(events, 3)["content"] == "end\n"
    assert (tmp_path / "run.jsonl").stat().st_size < 2 << 20


CGROUP_FILE = (
    "for f in /sys/fs/cgroup/{kind}$(grep :{kind}: /proc/self/cgroup | cut -d: -f3)/{v1} "
    "/sys/fs/cgroup$(grep ^0:: /proc/self/cgroup | cut -d: -f3)/{v2}; do [ -r $f ] && cat $f && break; done"
)
PIDS_MAX = CGROUP_FILE.format(kind="pids", v1="pids.max", v2="pids.max")
MEMORY_MAX = CGROUP_FILE.format(kind="memory", v1="memory.limit_in_bytes", v2="memory.max")


@pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
def test_a_fork_bomb_and_a_memory_hog_in_the_sandbox_stop_at_its_limits(tmp_path: Path) -> None:
    """The bomb runs only after the same command has read its own cgroup's pids.max as the limit set."""
    verify = f'pids=$({PIDS_MAX}); memory=$({MEMORY_MAX}); echo "pids=$pids memory=$memory"'
    hog = 'python3 -c \'b = bytearray(400 << 20); b[::4096] = b"x" * len(b[::4096]); print("allocated")\''
    bomb = 'test "$(' + PIDS_MAX + ')" = 48 || { echo "no pids limit; no bomb"; exit 99; }; b() { b & b & wait; }; b'
    actions = [run_action(verify), run_action(hog), {"action": "run", "args": {"command": bomb, "timeout": 4}}]
    config = "[runtime]\npids_limit = 48\nmemory_limit = '128M'\n"
    run = Run(tmp_path, actions, "sandbox", config=config)
    returncode, out, err = run.finish(timeout=90)
    if returncode == 2 and "cannot apply [runtime] pids_limit" in err:
        pytest.skip(err.strip())
    assert returncode == 0, out + err
    events = run.events()
    assert observation_of(events, 1)["content"] == f"pids=48 memory={128 << 20}\n"
    hogged = observation_of(events, 3)
    assert "allocated" not in hogged["content"]
    assert hogged["extras"]["exit_code"] in (137, -9), hogged
    bombed = observation_of(events, 5)["content"]
    assert "no bomb" not in bombed
    assert "fork" in bombed and "Resource temporarily unavailable" in bombed
    assert events[-1]["result"]["outcome"] == "finished"
    run.assert_nothing_left()
