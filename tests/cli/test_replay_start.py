"""Replay and ``--verify`` start from the run's recorded starting workspace, leave no temporary
directory behind unless asked, and replay interrupted commands as they happened."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pexpect

from tests.helpers import read_log, run_cli, write_json

READS_ITS_FILES = [
    {"action": "read", "args": {"path": "data/input.txt"}},
    {"action": "run", "args": {"command": "./tool.sh && ls -l --time-style=+ link && cat .hidden"}},
    {"action": "run", "args": {"command": "echo changed >> data/input.txt"}},
]


def seeded_workspace(project: Path) -> Path:
    """A workspace that starts with files the actions read: text, an executable, a symlink, a dotfile."""
    workspace = project / "ws"
    (workspace / "data").mkdir(parents=True)
    (workspace / "empty-dir").mkdir()
    (workspace / "data" / "input.txt").write_text("first line\n")
    (workspace / "tool.sh").write_text("#!/bin/sh\necho tool ran\n")
    (workspace / "tool.sh").chmod(0o755)
    (workspace / "link").symlink_to("data/input.txt")
    (workspace / ".hidden").write_text("dot\n")
    return workspace


def record(project: Path, actions: list[dict[str, Any]], env: dict[str, str] | None = None) -> tuple[Path, str]:
    task = write_json(project / "task.json", {"id": "seeded", "workspace": "ws", "actions": actions})
    log = project / "run.jsonl"
    done = run_cli("run", str(task), "--log", str(log), "--json", cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return log, done.stderr


def replay(project: Path, log: Path, *args: str, timeout: float = 60) -> Any:
    env = {"TMPDIR": str(project.parent / "tmp")}
    (project.parent / "tmp").mkdir(exist_ok=True)
    return run_cli(
        "replay", str(log), "--log", str(project / "replayed.jsonl"), *args, cwd=project, env=env, timeout=timeout
    )


def leftovers(project: Path) -> list[str]:
    return sorted(path.name for path in (project.parent / "tmp").glob("agentexec-replay-*"))


def test_verify_starts_from_the_recorded_workspace_and_cleans_up(project: Path) -> None:
    workspace = seeded_workspace(project)
    log, _ = record(project, READS_ITS_FILES)
    header = read_log(log)[0]
    assert header["start"]["kind"] == "snapshot" and header["start"]["files"] == 4
    assert (project / header["start"]["archive"]).is_file()
    (workspace / "data" / "input.txt").write_text("edited after the run\n")  # the snapshot holds the start
    done = replay(project, log, "--verify", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.splitlines()[-1])["result"]
    assert result["verify"]["diverged"] == 0 and result["verify"]["matched"] == 4, result
    assert leftovers(project) == []  # the temporary workspace is removed
    replayed_header = read_log(project / "replayed.jsonl")[0]
    assert replayed_header["start"]["archive"] == str(project / header["start"]["archive"])

    empty = replay(project, log, "--verify", "--empty-workspace")
    assert empty.returncode == 1 and "diverged" in empty.stdout
    assert leftovers(project) == []

    kept = replay(project, log, "--keep-workspace")
    assert kept.returncode == 0, kept.stderr
    (name,) = leftovers(project)
    kept_at = project.parent / "tmp" / name
    assert f"the replay's workspace is kept at {kept_at}" in kept.stderr
    assert (kept_at / "data" / "input.txt").read_text() == "first line\nchanged\n"
    assert os.access(kept_at / "tool.sh", os.X_OK) and os.readlink(kept_at / "link") == "data/input.txt"
    assert (kept_at / "empty-dir").is_dir()


def test_a_replay_leaves_no_temporary_directory_behind(project: Path) -> None:
    (project / "ws").mkdir()
    log, _ = record(project, [{"action": "run", "args": {"command": "echo hi > made.txt"}}])
    for args in ((), ("--verify",), ("--verify", "--json")):
        done = replay(project, log, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert leftovers(project) == [], args
        assert "kept at" not in done.stderr


def test_an_empty_chosen_workspace_is_filled_and_a_missing_snapshot_is_one_line(project: Path) -> None:
    seeded_workspace(project)
    log, _ = record(project, READS_ITS_FILES)
    target = project / "again"
    done = replay(project, log, "--verify", "--workspace", str(target))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "data" / "input.txt").read_text() == "first line\nchanged\n"
    for path in (project / "run.jsonl.start").iterdir():
        path.unlink()
    missing = replay(project, log, "--verify")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "starting workspace" in missing.stderr and "--empty-workspace" in missing.stderr
    assert leftovers(project) == []


def test_a_workspace_over_the_size_limit_is_stated_not_partly_stored(project: Path) -> None:
    seeded_workspace(project)
    log, stderr = record(project, READS_ITS_FILES, env={"AGENTEXEC_CORE_SNAPSHOT_MAX_BYTES": "10"})
    assert "the starting workspace is not stored for replay" in stderr and "snapshot_max_bytes = 10" in stderr
    start = read_log(log)[0]["start"]
    assert start["kind"] == "unrecorded" and "snapshot_max_bytes = 10" in start["reason"]
    assert not (project / "run.jsonl.start").exists()
    done = replay(project, log, "--verify")
    assert done.returncode == 1
    assert "the run's starting workspace was not recorded" in done.stderr and "empty workspace" in done.stderr


def test_batch_task_replays_from_its_source_directory_while_unchanged(project: Path) -> None:
    workspace = seeded_workspace(project)
    write_json(project / "tasks" / "seeded.json", {"id": "seeded", "workspace": "../ws", "actions": READS_ITS_FILES})
    done = run_cli("batch", "tasks", "--out", "out", "--workers", "1", cwd=project, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    log = project / "out" / "logs" / "seeded.jsonl"
    start = read_log(log)[0]["start"]
    assert start["kind"] == "copy" and start["source"] == str(workspace) and start["files"] == 4
    verified = replay(project, log, "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (workspace / "data" / "input.txt").write_text("changed since\n")
    refused = replay(project, log, "--verify")
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert f"the task's workspace {workspace} has changed since the run copied it" in refused.stderr
    assert leftovers(project) == []


def test_ctrl_c_in_the_shell_is_replayed_at_the_same_moment(project: Path) -> None:
    """A Ctrl-C'd command is interrupted again in the replay, so the commands after it still run."""
    (project / "ws").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    env.update(
        TERM="dumb", NO_COLOR="1", XDG_DATA_HOME=str(project / "data"), AGENTEXEC_EXECUTOR_NO_OUTPUT_TIMEOUT="40"
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentexec", "shell", "--workspace", "ws", "--log", "session.jsonl"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    child.delaybeforesend = None
    child.expect(r"\[-\]\$ ")
    child.sendline("echo before > mark.txt; sleep 100; echo never >> mark.txt")
    child.expect("sleep 100")
    time.sleep(0.8)
    child.sendintr()
    child.expect(r"\[130\]\$ ")
    child.sendline("cat mark.txt")
    child.expect(r"\[0\]\$ ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    log = project / "session.jsonl"
    interrupted = [r for r in read_log(log) if r.get("extras", {}).get("interrupted")]
    assert len(interrupted) == 1, read_log(log)
    started = time.monotonic()
    done = replay(project, log, "--verify", "--json", timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 15  # not the 40 s no-output timeout of a blocking sleep
    records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    runs = [r for r in records if r.get("observation") == "run"]
    assert runs and runs[-1]["content"].strip() == "before"  # the shell was free for the next command
    assert records[-1]["result"]["verify"]["diverged"] == 0


def test_a_command_stopped_by_a_batch_timeout_replays_to_the_end(project: Path) -> None:
    actions = [
        {"action": "write", "args": {"path": "a.txt", "content": "a\n"}},
        {"action": "run", "args": {"command": "echo started >> a.txt; sleep 100"}},
    ]
    task = {"id": "slow", "actions": actions, "timeout": 1.5}
    write_json(project / "tasks" / "slow.json", task)
    run_cli("batch", "tasks", "--out", "out", "--workers", "1", cwd=project, timeout=90)
    log = project / "out" / "logs" / "slow.jsonl"
    assert any(r.get("extras", {}).get("interrupted") for r in read_log(log)), read_log(log)
    started = time.monotonic()
    done = replay(project, log, "--verify", "--keep-workspace", timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 15
    (name,) = leftovers(project)
    assert (project.parent / "tmp" / name / "a.txt").read_text() == "a\nstarted\n"
