"""``agentexec batch`` with the local engine, through the CLI: grading, summary, resume, isolation, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import read_log, run_cli, write_json

OPS = '''
import os
import signal
import time

from agentexec.executors import ActionExecutor, action


class OpsExecutor(ActionExecutor):
    def setup(self) -> None:
        if self.env.get("FAIL_SETUP"):
            raise RuntimeError("setup failed on purpose")
        super().setup()

    @action
    def boom(self) -> str:
        """Raise from inside the executor's process, past the handler."""
        raise SystemExit("boom")

    @action
    def hang(self) -> str:
        """Never return (ignores the polite stops, as a stuck C call would)."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        while True:
            time.sleep(1)

    @action
    def die(self, code: int = 3) -> str:
        """End the worker process at once."""
        os._exit(code)

    @action
    def kill9(self) -> str:
        """SIGKILL the worker process."""
        os.kill(os.getpid(), signal.SIGKILL)
        return "unreachable"

    @action
    def nap(self, seconds: float) -> str:
        """Sleep, then report."""
        time.sleep(seconds)
        return f"slept {seconds}"
'''


def task(task_id: str, *actions: dict[str, Any], check: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    return {"id": task_id, "actions": list(actions), "check": check or [], **extra}


def run(command: str) -> dict[str, Any]:
    return {"action": "run", "args": {"command": command}}


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {entry["id"]: entry["status"] for entry in data["tasks"]}


@pytest.fixture
def ops_project(project: Path) -> Path:
    (project / "ops.py").write_text(OPS)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "ops:OpsExecutor"\n')
    return project


def test_grading_summary_logs_and_fresh_workspaces(project: Path) -> None:
    seed = project / "seed"
    seed.mkdir()
    (seed / "data.txt").write_text("42\n")
    tasks = project / "tasks"
    write_json(
        tasks / "copy.json",
        task("copy", run("cat data.txt > got.txt"), check=[run("grep -q 42 got.txt")], workspace="../seed"),
    )
    write_json(tasks / "nocheck.json", task("nocheck", run("true")))
    write_json(tasks / "checkfails.json", task("checkfails", run("true"), check=[run("test -f missing")]))
    (project / "more.jsonl").write_text(
        json.dumps(task("line1", run("echo hi")))
        + "\n\n"
        + json.dumps({"actions": [run("false")], "check": [run("true")]})
        + "\n"
    )

    done = run_cli("batch", "tasks", "more.jsonl", "--out", "out", "--workers", "2", cwd=project)
    assert done.returncode == 1, done.stderr
    data = summary(project / "out")
    assert statuses(data) == {
        "copy": "passed",
        "nocheck": "passed",
        "checkfails": "failed",
        "line1": "passed",
        "more-3": "passed",
    }
    assert data["totals"] == {
        "tasks": 5,
        "passed": 4,
        "failed": 1,
        "error": 0,
        "cancelled": 0,
        "not_run": 0,
        "pass_rate": 0.8,
    }
    assert data["complete"] is True and data["interrupted"] is False
    failed = next(e for e in data["tasks"] if e["id"] == "checkfails")
    assert "check failed" in failed["error"] and failed["checks"] == [{"action": "run", "passed": False}]
    log = read_log(project / "out" / "logs" / "checkfails.jsonl")
    assert log[0]["task"]["id"] == "checkfails"
    assert [r["phase"] for r in log if r.get("phase")] == ["check", "check"]
    assert log[-1]["result"]["passed"] is False
    # a copy of the named directory, the original untouched; an empty workspace otherwise
    assert (project / "out" / "workspaces" / "copy" / "got.txt").read_text() == "42\n"
    assert not (seed / "got.txt").exists()
    assert sorted(p.name for p in (project / "out" / "workspaces" / "nocheck").iterdir()) == []
    assert "batch summary" in done.stdout and "pass rate 80.0%" in done.stdout


def test_json_progress_events(project: Path) -> None:
    write_json(project / "t" / "a.json", task("a", run("true")))
    write_json(project / "t" / "b.json", task("b", run("false"), check=[run("false")]))
    done = run_cli("batch", "t", "--out", "out", "--json", cwd=project)
    assert done.returncode == 1
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0] == {"event": "start", "tasks": 2, "skipped": 0, "engine": "local", "workers": os.cpu_count()}
    assert sorted(e["task"] for e in events if e["event"] == "task_start") == ["a", "b"]
    ends = {e["task"]: e["entry"]["status"] for e in events if e["event"] == "task_end"}
    assert ends == {"a": "passed", "b": "failed"}
    assert events[-1]["event"] == "end" and events[-1]["totals"]["passed"] == 1


def test_resume_skips_finished_tasks(project: Path) -> None:
    write_json(project / "t" / "ok.json", task("ok", run("true")))
    write_json(project / "t" / "bad.json", task("bad", run("true"), check=[run("test -f flag")]))
    first = run_cli("batch", "t", "--out", "out", "--json", cwd=project)
    assert first.returncode == 1

    def started(result: subprocess.CompletedProcess[str]) -> list[str]:
        return sorted(json.loads(line)["task"] for line in result.stdout.splitlines() if '"task_start"' in line)

    again = run_cli("batch", "t", "--out", "out", "--json", cwd=project)
    assert started(again) == [] and again.returncode == 1
    assert json.loads(again.stdout.splitlines()[0])["skipped"] == 2
    retry = run_cli("batch", "t", "--out", "out", "--json", "--rerun-failed", cwd=project)
    assert started(retry) == ["bad"]
    forced = run_cli("batch", "t", "--out", "out", "--json", "--force", cwd=project)
    assert started(forced) == ["bad", "ok"]
    assert statuses(summary(project / "out")) == {"bad": "failed", "ok": "passed"}


def test_failures_stay_isolated(ops_project: Path) -> None:
    tasks = [
        task("raises", {"action": "boom"}),
        task("setup-raises", run("true"), env={"FAIL_SETUP": "1"}),
        task("hangs", {"action": "hang"}, timeout=1),
        task("exits", {"action": "die", "args": {"code": 7}}),
        task("killed", {"action": "kill9"}),
        task("fine", {"action": "nap", "args": {"seconds": 0.1}}, check=[run("true")]),
    ]
    (ops_project / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    started = time.monotonic()
    done = run_cli("batch", "tasks.jsonl", "--out", "out", "-j", "2", cwd=ops_project, timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 1, done.stderr
    data = summary(ops_project / "out")
    entries = {e["id"]: e for e in data["tasks"]}
    assert statuses(data) == {
        "raises": "error",
        "setup-raises": "error",
        "hangs": "error",
        "exits": "error",
        "killed": "error",
        "fine": "passed",
    }
    assert "SystemExit: boom" in entries["raises"]["error"]
    assert "failed to set up" in entries["setup-raises"]["error"]
    assert entries["setup-raises"]["error"].endswith("RuntimeError: setup failed on purpose")
    assert entries["hangs"]["outcome"] == "timeout" and "timeout of 1 s" in entries["hangs"]["error"]
    assert entries["exits"]["outcome"] == "crashed" and "exited with code 7" in entries["exits"]["error"]
    assert "SIGKILL" in entries["killed"]["error"]
    # the log of a killed worker still holds what it did, and ends with the reason
    killed_log = read_log(ops_project / "out" / "logs" / "killed.jsonl")
    assert killed_log[1]["action"] == "kill9" and killed_log[-1]["result"]["outcome"] == "crashed"


def test_a_task_timeout_comes_from_config(ops_project: Path) -> None:
    (ops_project / "agentexec.toml").write_text(
        '[core]\nruntime_executor = "ops:OpsExecutor"\n\n[batch]\ntimeout = 2\n'
    )
    write_json(ops_project / "slow.json", task("slow", {"action": "nap", "args": {"seconds": 30}}))
    done = run_cli("batch", "slow.json", "--out", "out", cwd=ops_project)
    assert done.returncode == 1
    entry = summary(ops_project / "out")["tasks"][0]
    assert entry["outcome"] == "timeout", entry
    # stopped politely: the loop logged the interruption, saying why, and closed the log itself
    log = read_log(ops_project / "out" / "logs" / "slow.jsonl")
    assert log[-1]["result"]["outcome"] == "interrupted"
    stopped = [r for r in log if r.get("observation") == "error"]
    assert [r["content"] for r in stopped] == ["task timeout of 2 s reached; the batch engine stopped it"]
    assert log[-1]["result"]["message"] == stopped[0]["content"]


def start_batch(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    return subprocess.Popen(
        [sys.executable, "-m", "agentexec", "batch", *args, "--json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(process: subprocess.Popen[str], event: str) -> list[dict[str, Any]]:
    """Read JSON events until one of kind ``event`` arrives."""
    seen = []
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == event:
            return seen
    raise AssertionError(f"no {event} event; stderr: {process.stderr.read() if process.stderr else ''}")


@pytest.fixture
def naps(ops_project: Path) -> Path:
    for n in range(4):
        write_json(ops_project / "t" / f"n{n}.json", task(f"n{n}", {"action": "nap", "args": {"seconds": 2}}))
    return ops_project


def test_first_ctrl_c_lets_running_tasks_finish(naps: Path) -> None:
    process = start_batch(naps, "t", "--out", "out", "-j", "1")
    wait_for(process, "task_start")
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    assert any(json.loads(line).get("event") == "notice" for line in rest.splitlines())
    data = summary(naps / "out")
    assert statuses(data) == {"n0": "passed", "n1": "not_run", "n2": "not_run", "n3": "not_run"}
    assert data["interrupted"] is True and data["complete"] is False and data["totals"]["not_run"] == 3
    assert data["totals"]["pass_rate"] == 0.25  # of all four tasks: the three never run did not pass
    shown = run_cli("show", "out/summary.json", cwd=naps)
    assert "pass rate 25.0%" in shown.stdout and "not run 3" in shown.stdout, shown.stdout
    # running the same command again finishes the rest
    again = run_cli("batch", "t", "--out", "out", "--json", cwd=naps)
    assert again.returncode == 0
    assert sorted(json.loads(x)["task"] for x in again.stdout.splitlines() if '"task_start"' in x) == ["n1", "n2", "n3"]


def test_second_ctrl_c_cancels_running_tasks(naps: Path) -> None:
    write_json(naps / "t" / "n0.json", task("n0", {"action": "nap", "args": {"seconds": 60}}))
    write_json(naps / "t" / "n1.json", task("n1", {"action": "nap", "args": {"seconds": 60}}))
    process = start_batch(naps, "t", "--out", "out", "-j", "2")
    logs = [naps / "out" / "logs" / f"n{n}.jsonl" for n in (0, 1)]
    deadline = time.monotonic() + 30
    while not all(log.exists() and '"nap"' in log.read_text() for log in logs):  # both naps are running
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    wait_for(process, "notice")
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert process.returncode == 130
    data = summary(naps / "out")
    assert statuses(data) == {"n0": "cancelled", "n1": "cancelled", "n2": "not_run", "n3": "not_run"}
    log = read_log(naps / "out" / "logs" / "n0.jsonl")
    assert log[-1]["result"]["outcome"] == "interrupted"
    assert log[-1]["result"]["message"] == "interrupted: the batch was cancelled"


def children(pid: int) -> dict[int, str]:
    """Child processes of ``pid`` and their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes()
            if entry.name.isdigit() and int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
    return found


def test_a_dead_fork_server_fails_the_tasks_it_cannot_start(naps: Path) -> None:
    process = start_batch(naps, "t", "--out", "out", "-j", "1")
    log = naps / "out" / "logs" / "n0.jsonl"
    deadline = time.monotonic() + 30
    while not (log.exists() and '"nap"' in log.read_text()):  # the first task is running
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    (server,) = [pid for pid, cmd in children(process.pid).items() if "agentexec.batch.forkserver" in cmd]
    os.kill(server, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == 1
    entries = {e["id"]: e for e in summary(naps / "out")["tasks"]}
    # the running task's worker outlives the server and still reports; the others cannot start
    assert entries["n0"]["status"] == "passed"
    assert [entries[f"n{n}"]["status"] for n in (1, 2, 3)] == ["error"] * 3
    assert "could not start it" in entries["n1"]["error"]


@pytest.mark.parametrize(
    ("files", "config", "message"),
    [
        ({"a.json": {"id": "same"}, "b.json": {"id": "same"}}, "", "task id 'same' is used twice"),
        ({"a.json": {"id": "a/b"}}, "", "cannot name a log file"),
        ({"a.json": {"id": "a", "workspace": "nowhere"}}, "", "is not a directory"),
        ({"a.json": {"id": "a"}}, "[batch]\nworkerz = 2\n", "'workerz' in [batch]; did you mean 'workers'?"),
        ({"a.json": {"id": "a"}}, "[batch]\nengine = 'spark'\n", "batch.engine = 'spark'"),
        ({"a.json": {"id": "a"}}, "[core]\nruntime_executor = 'nope:Nope'\n", "module 'nope' not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(project: Path, files: dict, config: str, message: str) -> None:
    for name, data in files.items():
        write_json(project / "t" / name, data)
    (project / "agentexec.toml").write_text(config)
    done = run_cli("batch", "t", "--out", "out", cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (project / "out").exists()


def test_bad_jsonl_line_names_the_line(project: Path) -> None:
    (project / "tasks.jsonl").write_text('{"id": "a"}\n{"id": \n')
    done = run_cli("batch", "tasks.jsonl", cwd=project)
    assert done.returncode == 2 and "tasks.jsonl:2" in done.stderr
