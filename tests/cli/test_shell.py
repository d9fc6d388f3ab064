"""``agentexec shell`` driven for real in a pseudo-terminal by pexpect, as a person would use it."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.helpers import read_log, run_cli

PROMPT = r"\[(-|\d+)\]\$ "
OPS = '''
from agentexec.executors import ActionExecutor, action


class OpsExecutor(ActionExecutor):
    @action
    def count_lines(self, path: str) -> str:
        """Count the lines of a workspace file."""
        return str(len(self.resolve(path).read_text().splitlines()))
'''


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A project directory with a custom executor and a private data dir for the history file."""
    project = tmp_path / "project"
    (project / "ws" / "sub").mkdir(parents=True)
    (project / "ops.py").write_text(OPS)
    return project


def spawn(project: Path, *args: str, **env: str) -> pexpect.spawn:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentexec", "shell", "--workspace", "ws", "--log", "session.jsonl", *args],
        cwd=str(project),
        env={**base, "TERM": "dumb", "NO_COLOR": "1", "XDG_DATA_HOME": str(project / "data"), **env},
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 250),
    )
    child.delaybeforesend = None
    child.expect(PROMPT)
    return child


def prompt(child: pexpect.spawn, code: str = r"\d+") -> None:
    child.expect(rf"\[{code}\]\$ ")


def actions_of(project: Path) -> list[dict]:
    return [r for r in read_log(project / "session.jsonl") if "action" in r]


def test_commands_edits_custom_action_and_history(home: Path) -> None:
    child = spawn(home, "--executor", "ops:OpsExecutor")
    child.sendline("echo hello-$((40+2)); false")
    child.expect("hello-42")
    prompt(child, "1")
    child.sendline("cd sub")
    child.expect(r"ws/sub \[0\]\$ ")
    child.sendline("/write notes.txt")
    child.expect("end with a lone '.'")
    for line in ("alpha", "beta", "."):
        child.sendline(line)
    prompt(child, "0")
    child.sendline("/read notes.txt 1")
    child.expect("beta")
    prompt(child)
    child.sendline("/edit str_replace notes.txt")
    child.sendline("beta")
    child.sendline(".")
    child.sendline("gamma")
    child.sendline(".")
    child.expect("edit str_replace .*notes.txt")
    prompt(child)
    assert (home / "ws" / "sub" / "notes.txt").read_text() == "alpha\ngamma\n"
    child.sendline("/und\t")  # tab completes /undo
    child.expect("Last edit to .*notes.txt undone")
    prompt(child)
    assert (home / "ws" / "sub" / "notes.txt").read_text() == "alpha\nbeta\n"
    child.send("/action cou\t")  # tab completes the custom action's name
    child.sendline('{"path": "notes.txt"}')  # relative to the shell's cwd (ws/sub), as /read is
    child.expect(r"count_lines.*\r\n2\r\n")
    prompt(child)
    child.sendline("/actions")
    child.expect(r"count_lines\(path: string\)")
    child.sendline("/action {broken")
    child.expect("shell: invalid JSON at column 2")
    child.sendline("/read")
    child.expect(r"shell: usage: /read PATH \[START \[END\]\]")
    child.sendline("/log")
    child.expect(r"event log: .*session\.jsonl")
    child.sendline("/quit")
    child.expect("finished")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    log = read_log(home / "session.jsonl")
    names = [r["action"] for r in log if "action" in r]
    assert names == ["run", "run", "write", "read", "edit", "edit", "count_lines"]
    assert [r for r in log if "action" in r][4]["args"]["path"].endswith("ws/sub/notes.txt")
    assert [r for r in log if "action" in r][6]["args"]["path"].endswith("ws/sub/notes.txt")
    assert log[-1]["result"]["outcome"] == "finished"
    history = (home / "data" / "agentexec" / "shell_history").read_text()
    assert "echo hello-$((40+2)); false" in history and "gamma" not in history  # /write lines stay out

    child = spawn(home)  # the history comes back: Ctrl-P recalls the last line
    child.send("\x10")
    child.expect(re.escape("/quit"))
    child.sendcontrol("d")  # Ctrl-D on a non-empty line does nothing; clear it, then Ctrl-D ends
    child.sendcontrol("u")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


def test_ctrl_c_interrupts_the_command_then_ends_the_session(home: Path) -> None:
    child = spawn(home)
    child.sendline("sleep 30")
    child.expect("sleep 30")
    time.sleep(0.3)
    started = time.monotonic()
    child.sendintr()
    child.expect("interrupted")
    prompt(child, "130")
    assert time.monotonic() - started < 5
    child.sendline("echo still-here")
    child.expect("still-here")
    prompt(child, "0")
    child.send("partial")
    child.expect("partial")  # readline has it (the tty would drop unread input on Ctrl-C)
    child.sendintr()  # Ctrl-C with text typed only clears the line
    prompt(child)
    child.sendintr()  # at an empty prompt it ends the session
    child.expect("event log:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    log = read_log(home / "session.jsonl")
    interrupted = [r for r in log if r.get("extras", {}).get("interrupted")]
    assert [r["extras"]["exit_code"] for r in interrupted] == [130]  # as the prompt said: [130]
    assert log[-1]["result"]["outcome"] == "finished"
    assert [a["args"]["command"] for a in actions_of(home)][-1] == "echo still-here"


def test_running_command_gets_the_next_line_as_input(home: Path) -> None:
    child = spawn(home, AGENTEXEC_EXECUTOR_NO_OUTPUT_TIMEOUT="1")
    child.sendline('read -p "name? " x; echo "hello $x"')
    child.expect(r"\[running\] input> ")
    child.sendline("world")
    child.expect("hello world")
    prompt(child, "0")
    child.sendline("cat")
    child.expect(r"\[running\] input> ")
    child.sendline("//typed")  # '//' sends a line that starts with '/'
    child.expect("/typed")
    child.expect(r"\[running\] input> ")
    child.sendcontrol("d")  # Ctrl-D at a running command's prompt sends C-d: cat ends
    prompt(child, "0")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    inputs = [a["args"] for a in actions_of(home) if a["args"].get("is_input")]
    assert inputs == [
        {"command": "world", "is_input": True},
        {"command": "/typed", "is_input": True},
        {"command": "C-d", "is_input": True},
    ]


def test_a_command_waiting_for_input_is_shown_running_with_a_note_for_a_person(home: Path) -> None:
    child = spawn(home, AGENTEXEC_EXECUTOR_NO_OUTPUT_TIMEOUT="1")
    child.sendline('read -p "name? " x; echo "hello $x"')
    child.expect(r"\[running\] input> ")
    shown = child.before
    child.sendline("world")
    child.expect("hello world")
    prompt(child, "0")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    assert "… run waiting for input" in shown or "… run still running" in shown, shown
    assert "exit -1" not in shown and "✗" not in shown
    assert "press Enter on an empty line to wait for more output" in shown
    assert "is_input" not in shown and "C-c" not in shown
    running = [r for r in read_log(home / "session.jsonl") if r.get("extras", {}).get("running")]
    assert "is_input=true" in running[0]["content"]  # the log keeps the executor's own words


def test_bad_flags_are_one_line(home: Path) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentexec", "shell", "--executor", "nosuch:Thing"],
        cwd=str(home),
        encoding="utf-8",
        timeout=20,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "module 'nosuch' not found" in child.before and "Traceback" not in child.before


def test_sigterm_ends_the_session_with_the_log_closed(home: Path) -> None:
    child = spawn(home)
    child.sendline("echo one")
    prompt(child, "0")
    child.kill(signal.SIGTERM)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    result = read_log(home / "session.jsonl")[-1]["result"]
    assert result["outcome"] == "interrupted" and result["steps"] == 1


def test_piped_session_without_a_terminal(home: Path) -> None:
    """Lines from a pipe work as typed ones (no readline then); --json keeps stdout pure JSON lines."""
    script = "/write a.txt\none\ntwo\n.\n/edit str_replace a.txt\ntwo\n.\nthree\n.\n/undo\ncat a.txt\n"
    result = run_cli("shell", "-w", "ws", "--log", "s.jsonl", "--json", cwd=home, input=script)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["action"] for r in records if "action" in r] == ["write", "edit", "edit", "run"]
    assert records[-2]["content"] == "one\ntwo\n" and records[-1]["result"]["outcome"] == "finished"
    assert "[-]$ " in result.stderr  # prompts go to stderr with --json
