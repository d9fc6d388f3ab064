"""The bash session under abuse: background jobs, floods of output, bash dying, agentexec dying.

Through ``agentexec.connect()`` and through ``agentexec run --json`` in a subprocess. Process
checks read /proc: every process bash starts stays in bash's session (its id is bash's pid).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import agentexec
from agentexec.events import Observation
from agentexec.executors.bash import BashSession
from tests.helpers import read_log, write_json


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with agentexec.connect(workspace=tmp_path / "ws") as runtime:
        yield runtime


def run(rt: Any, command: str, **args: Any) -> Observation:
    return rt.execute({"action": "run", "args": {"command": command, **args}})


def session_members(sid: int) -> list[int]:
    """Processes (zombies excepted) whose session id is ``sid``."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def wait_until_empty(sid: int, seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while session_members(sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return session_members(sid)


# -- background jobs -----------------------------------------------------------------------------


def test_background_output_does_not_leak_into_later_commands(rt):
    started = run(rt, "for i in 1 2 3 4 5; do sleep 0.2; echo LATE $i; done &")
    log = Path(started.extras["background_log"])
    for _ in range(6):
        assert "LATE" not in run(rt, "sleep 0.2; echo mine").content
    deadline = time.monotonic() + 10
    while "LATE 5" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == "".join(f"LATE {i}\n" for i in range(1, 6))


def test_background_jobs_return_at_once_and_nohup_and_disown_work(rt):
    obs = run(rt, "echo $$; sleep 100 & nohup sleep 101 > /dev/null 2>&1 & sleep 102 & disown; (sleep 103 &)")
    assert obs.extras["exit_code"] == 0
    assert obs.extras["duration"] < 10
    sid = int(obs.content.split()[0])
    assert len(session_members(sid)) >= 5
    rt.close()
    assert wait_until_empty(sid) == []


#: Two ways out of bash's session: setsid(1), and a daemon's double fork with setsid(2). Each
#: writes its pid into a file in the workspace, then sleeps.
ESCAPES = (
    "setsid sh -c 'echo $$ > escaped1.pid; exec sleep 300' < /dev/null > /dev/null 2>&1 &"
    " python3 -c 'import os, time; os.fork() and os._exit(0); os.setsid(); os.fork() and os._exit(0);"
    ' open("escaped2.pid", "w").write(str(os.getpid())); time.sleep(300)\' < /dev/null > /dev/null 2>&1'
)


def escaped_pids(directory: Path) -> list[int]:
    """The pids the ESCAPES commands wrote, once both are written (they are outside bash's session)."""
    files = [directory / "escaped1.pid", directory / "escaped2.pid"]
    deadline = time.monotonic() + 10
    while not all(f.exists() and f.read_text().strip() for f in files) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [int(f.read_text()) for f in files]


def wait_until_dead(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and b") Z" not in _stat(pid)]
    return alive


def _stat(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return b") Z"


def test_processes_that_leave_the_session_are_killed_on_close(rt, tmp_path):
    obs = run(rt, f"echo $$; {ESCAPES}")
    sid = int(obs.content.split()[0])
    pids = escaped_pids(tmp_path / "ws")
    assert all(int(_stat(pid).rsplit(b")", 1)[1].split()[3]) != sid for pid in pids)  # they did escape
    rt.close()
    assert wait_until_dead(pids) == []


def test_a_chatty_background_job_never_blocks(rt):
    run(rt, "yes chatter &")
    time.sleep(0.5)
    assert run(rt, "echo quiet").content == "quiet\n"
    assert run(rt, "kill %1; wait %1 2>/dev/null; echo stopped").content == "stopped\n"


# -- large and hostile output --------------------------------------------------------------------


def test_large_output_keeps_head_and_tail_and_spills_in_full(rt):
    obs = run(rt, "seq 1 200000")
    full = "".join(f"{i}\n" for i in range(1, 200001))
    assert obs.extras["output_chars"] == len(full)
    assert Path(obs.extras["output_path"]).read_text() == full
    assert obs.content.startswith("1\n2\n3\n")
    assert obs.content.endswith("199999\n200000\n")
    assert "characters cut" in obs.content
    assert len(obs.content) < 30_000 + 300


def test_output_cap_is_configurable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTEXEC_EXECUTOR_MAX_OUTPUT_CHARS", "100")
    monkeypatch.setenv("AGENTEXEC_EXECUTOR_OUTPUT_DIR", str(tmp_path / "spill"))
    with agentexec.connect(workspace=tmp_path / "ws") as rt:
        obs = run(rt, "seq 1 1000")
    assert Path(obs.extras["output_path"]).parent == tmp_path / "spill"
    assert len(obs.content) < 100 + 200


def test_memory_stays_bounded_while_yes_runs_until_its_timeout(rt):
    before = rss_bytes()
    obs = run(rt, "yes", timeout=1.5)
    assert obs.extras["timed_out"] == "timeout"
    assert obs.extras["output_chars"] > 1_000_000
    assert len(obs.content) < 31_000 + len(obs.extras["output_path"]) + 400
    assert rss_bytes() - before < 100 * 1024 * 1024
    assert run(rt, "C-c", is_input=True).extras["exit_code"] == 130
    assert run(rt, "echo ok").content == "ok\n"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_invalid_utf8_and_control_characters_are_replaced_and_said(rt):
    obs = run(rt, r"printf 'bad \xff\xfe bytes\n\033[31mred\033[0m \a\x01bell\n'")
    assert obs.content.startswith("bad \ufffd\ufffd bytes\nred bell\n")
    notes = obs.extras["notes"]
    assert any("invalid UTF-8" in note for note in notes)
    assert any("control" in note for note in notes)
    assert run(rt, "echo fine").content == "fine\n"


# -- death and recovery --------------------------------------------------------------------------


@pytest.mark.parametrize("command, code, said", [("exit 7", 7, "exited"), ("kill -9 $$", 137, "signal 9")])
def test_bash_death_is_reported_and_the_next_action_gets_a_fresh_session(rt, command, code, said):
    run(rt, "export KEPT=1; cd /")
    died = run(rt, command)
    assert died.extras["exit_code"] == code
    assert said in died.content and "fresh session" in died.content
    fresh = run(rt, 'echo "kept=$KEPT"')
    assert fresh.content.startswith("kept=\n")
    assert "started a fresh one" in fresh.content
    assert fresh.extras["exit_code"] == 0
    assert fresh.extras["cwd"] != "/"


# -- through the CLI: streaming, spill beside the log, agentexec killed ---------------------------


def one_run_task(directory: Path, task_id: str, command: str) -> Path:
    actions = [{"action": "run", "args": {"command": command}}]
    return write_json(directory / "task.json", {"id": task_id, "actions": actions})


def start_cli(task: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    return subprocess.Popen(
        [sys.executable, "-m", "agentexec", "run", str(task), "--json", "--log", str(log)],
        cwd=task.parent,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_json_output_streams_chunks_before_the_observation(tmp_path):
    command = "for i in 1 2 3 4; do echo tick $i; sleep 0.3; done"
    task = one_run_task(tmp_path, "stream", command)
    process = start_cli(task, tmp_path / "run.jsonl")
    arrivals = []
    assert process.stdout is not None
    for line in process.stdout:
        arrivals.append((time.monotonic(), json.loads(line)))
    assert process.wait(timeout=30) == 0
    first_tick = next(at for at, event in arrivals if "tick 1" in event.get("output", ""))
    observed = next(at for at, event in arrivals if event.get("observation") == "run")
    assert observed - first_tick > 0.45
    streamed = "".join(event.get("output", "") for _, event in arrivals)
    assert streamed == "tick 1\ntick 2\ntick 3\ntick 4\n"


def test_agentexec_run_spills_beside_its_event_log(tmp_path):
    task = one_run_task(tmp_path, "big", r"seq 1 100000; printf '\xff\n'")
    log = tmp_path / "logs" / "run.jsonl"
    process = start_cli(task, log)
    process.communicate(timeout=60)
    assert process.returncode == 0
    observation = next(record for record in read_log(log) if record.get("observation") == "run")
    spill = Path(observation["extras"]["output_path"])
    assert spill.parent == Path(str(log) + ".outputs")
    assert spill.read_text().startswith("1\n2\n")
    assert "\ufffd" in observation["content"]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_no_process_survives_agentexec_being_stopped(tmp_path, how):
    command = f"nohup sleep 300 > /dev/null 2>&1 & sleep 301 & {ESCAPES}; echo $$; sleep 302"
    task = one_run_task(tmp_path, "doomed", command)
    process = start_cli(task, tmp_path / "run.jsonl")
    assert process.stdout is not None
    sid = None
    for line in process.stdout:
        text = json.loads(line).get("output", "").strip()
        if text.isdigit():
            sid = int(text)
            break
    assert sid is not None
    deadline = time.monotonic() + 10
    while len(session_members(sid)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # "echo $$" is printed before the last sleep starts
    assert len(session_members(sid)) >= 4  # the escapers may not have left yet
    escaped = escaped_pids(tmp_path)
    links = [os.readlink(fd) for fd in Path(f"/proc/{process.pid}/fd").iterdir()]
    scratch = {Path(link).parent for link in links if "/agentexec-bash-" in link}
    assert len(scratch) == 1, links
    process.send_signal(how)
    process.communicate(timeout=30)
    assert wait_until_empty(sid) == []
    assert wait_until_dead(escaped) == []
    directory, deadline = scratch.pop(), time.monotonic() + 10
    while directory.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not directory.exists(), "the session's scratch directory outlived it"


# -- interrupts racing the command line ---------------------------------------------------------


def test_an_interrupt_racing_the_command_line_never_desynchronises_the_session(rt):
    """A Ctrl-C sent while bash is still reading the command line must end that command only."""
    for attempt in range(12):
        timer = threading.Timer(0.001 * (attempt % 4), rt.interrupt)
        timer.start()
        first = rt.execute({"action": "run", "args": {"command": "sleep 5", "timeout": 3}})
        timer.join()
        if first.extras.get("running"):
            rt.execute({"action": "run", "args": {"command": "C-c", "is_input": True}})
        after = run(rt, f"echo ok{attempt}")
        assert after.content.startswith(f"ok{attempt}\n"), (attempt, first.content, after.content)


class InterruptedOnce(BashSession):
    """A session whose first command is interrupted in the narrowest window: inside ``run()``, just
    before the command line is sent (where another thread's interrupt may land)."""

    pending = True

    def _drain(self) -> None:
        super()._drain()
        if self.pending:
            self.pending = False
            self.interrupt()


def test_an_interrupt_before_the_command_is_sent_cancels_it(tmp_path):
    session = InterruptedOnce(tmp_path)
    session.start()
    try:
        cancelled = session.run("echo ran > ran.txt", timeout=5)
        assert (cancelled.exit_code, cancelled.running) == (130, False)
        assert "interrupted before the command started" in cancelled.notes
        assert not (tmp_path / "ran.txt").exists()
        after = session.run("echo ok", timeout=5)
        assert (after.output, after.exit_code) == ("ok\n", 0)
    finally:
        session.close()


def test_a_ctrl_c_sent_while_bash_forks_the_command_is_not_lost(tmp_path):
    """A Ctrl-C that lands while bash is forking the first process of a command (bash itself, or the
    child before its exec, takes it) must still stop the command list: "late" never prints."""
    session = BashSession(tmp_path)
    session.start()
    try:
        for attempt in range(60):
            left = session.run(f"sleep 3; echo late{attempt}", timeout=0.001 * (attempt % 3))
            stopped = session.run("C-c", is_input=True, timeout=10) if left.running else left
            assert "late" not in left.output + stopped.output, (attempt, stopped)
            assert stopped.exit_code == 130, (attempt, stopped)
    finally:
        session.close()


def test_interrupts_from_another_thread_never_take_a_commands_end_marker(tmp_path):
    """``interrupt()`` waits for a command nobody reads; it must never read while a ``run()`` does,
    or it takes that command's end marker and the run waits for a marker that already came."""
    session = BashSession(tmp_path)
    session.start()
    stop = threading.Event()

    def interrupt_again_and_again() -> None:
        while not stop.is_set():
            session.interrupt()
            time.sleep(0.001)

    thread = threading.Thread(target=interrupt_again_and_again)
    thread.start()
    try:
        for attempt in range(150):
            result = session.run(f"echo {attempt}", timeout=20, no_output_timeout=10)
            assert not result.running and result.exit_code in (0, 130), (attempt, result)
    finally:
        stop.set()
        thread.join()
        session.close()
