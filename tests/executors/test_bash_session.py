"""The ``run`` action's bash session through ``agentexec.connect()``: state, exactness, timeouts, input.

Each test gets its own runtime (a fresh bash) in a temporary workspace. Bounds on time are
generous: they tell "returned when the command ended" from "waited for a timeout", no more.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import agentexec
from agentexec.events import Observation


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    for key in ("AGENTEXEC_EXECUTOR_TIMEOUT", "AGENTEXEC_EXECUTOR_NO_OUTPUT_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    workspace = tmp_path / "ws"
    with agentexec.connect(workspace=workspace) as runtime:
        yield runtime


def run(rt: Any, command: str, **args: Any) -> Observation:
    return rt.execute({"action": "run", "args": {"command": command, **args}})


def send(rt: Any, text: str, **args: Any) -> Observation:
    return run(rt, text, is_input=True, **args)


# -- persistent state and extras ---------------------------------------------------------------


def test_cwd_exports_functions_and_aliases_persist(rt, tmp_path):
    run(rt, "mkdir -p sub/dir && cd sub/dir")
    run(rt, "export GREETING=hello; shout() { echo \"${1^^}!\"; }; alias ll='echo listed'")
    obs = run(rt, 'echo "$GREETING $(pwd)"; shout hey; ll')
    assert obs.content == f"hello {tmp_path / 'ws/sub/dir'}\nHEY!\nlisted\n"
    assert obs.extras["cwd"] == str(tmp_path / "ws/sub/dir")
    assert obs.extras["exit_code"] == 0
    assert isinstance(obs.extras["duration"], float)


def test_activated_venv_persists(rt):
    run(rt, "python3 -m venv --without-pip venv && . venv/bin/activate")
    obs = run(rt, 'echo "$VIRTUAL_ENV"; command -v python')
    venv = obs.extras["cwd"] + "/venv"
    assert obs.content == f"{venv}\n{venv}/bin/python\n"


@pytest.mark.parametrize("command, code", [("true", 0), ("false", 1), ("(exit 3)", 3), ("sh -c 'exit 255'", 255)])
def test_exit_codes_are_exact(rt, command, code):
    assert run(rt, command).extras["exit_code"] == code


def test_multiline_commands_heredocs_and_missing_trailing_newline(rt):
    command = "cat <<'EOF' > notes.txt\nline $HOME\n  indented\nEOF\nfor i in 1 2; do\n  echo n$i\ndone\ncat notes.txt"
    assert run(rt, command).content == "n1\nn2\nline $HOME\n  indented\n"
    assert run(rt, "printf 'no newline'").content == "no newline"
    assert run(rt, "printf ''").content == ""


def test_set_e_in_a_command_stops_it_and_keeps_the_session(rt):
    obs = run(rt, "set -e\necho before\nfalse\necho after")
    assert obs.content.startswith("before\n")
    assert "after" not in obs.content
    assert obs.extras["exit_code"] == 1
    assert run(rt, "false; echo still here").content == "still here\n"


def test_xtrace_shows_the_command_only_and_builtins_can_be_shadowed(rt):
    run(rt, "set -x; printf() { echo shadowed; }")
    assert run(rt, "echo traced").content == "+++ echo traced\ntraced\n"
    assert run(rt, "set +x; unset -f printf; printf 'plain'").content == "+++ set +x\nplain"


def test_commands_that_change_ps1_or_prompt_command_do_not_break_the_session(rt):
    run(rt, "PS1='$ '; PS2='> '; PROMPT_COMMAND='echo hijacked'")
    obs = run(rt, "echo ok")
    assert obs.content == "ok\n"
    assert obs.extras["exit_code"] == 0


# -- streaming -----------------------------------------------------------------------------------


def test_output_streams_before_the_observation(rt):
    chunks: list[tuple[float, str]] = []
    obs = rt.execute(
        {"action": "run", "args": {"command": "for i in 1 2 3 4; do echo tick $i; sleep 0.3; done"}},
        lambda text: chunks.append((time.monotonic(), text)),
    )
    finished = time.monotonic()
    assert "".join(text for _, text in chunks) == obs.content == "tick 1\ntick 2\ntick 3\ntick 4\n"
    first = next(at for at, text in chunks if "tick 1" in text)
    assert finished - first > 0.45  # tick 1 arrived while the loop still had ~0.9 s to go


# -- timeouts and input --------------------------------------------------------------------------


def test_quiet_commands_that_read_no_terminal_are_not_waiting_for_input(rt):
    obs = run(rt, "sleep 1.5 | cat; echo done")
    assert obs.content == "done\n"
    assert obs.extras["exit_code"] == 0


def test_hard_timeout_keeps_partial_output_and_leaves_the_process_running(rt):
    obs = run(rt, "echo started; sleep 30; echo finished", timeout=1)
    assert obs.content.startswith("started\n")
    assert "(timeout)" in obs.content
    assert obs.extras["running"] is True
    assert obs.extras["timed_out"] == "timeout"
    waited = send(rt, "", timeout=0.5)
    assert waited.extras["running"] is True
    busy = run(rt, "echo other")
    assert busy.is_error
    assert "still running" in busy.content and "C-c" in busy.content
    stopped = send(rt, "C-c")
    assert stopped.extras["exit_code"] == 130
    assert "running" not in stopped.extras
    assert run(rt, "echo ok").content == "ok\n"


def test_empty_input_returns_what_came_since(rt):
    run(rt, "sleep 1; echo later", timeout=0.2)
    obs = send(rt, "", timeout=10)
    assert obs.content == "later\n"
    assert obs.extras["exit_code"] == 0


def test_no_output_timeout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTEXEC_EXECUTOR_NO_OUTPUT_TIMEOUT", "0.5")
    with agentexec.connect(workspace=tmp_path / "ws") as rt:
        obs = run(rt, "echo one; sleep 30", timeout=20)
        assert obs.extras["timed_out"] == "no_output_timeout"
        assert obs.content.startswith("one\n")
        assert "no output for 0.5 s" in obs.content
        assert obs.extras["duration"] < 15
        assert send(rt, "C-c").extras["exit_code"] == 130


def test_a_command_waiting_for_input_returns_without_a_timeout(rt):
    obs = run(rt, 'read -p "Delete everything? [y/N] " answer; echo "answer=$answer"')
    assert obs.content.startswith("Delete everything? [y/N] ")
    assert obs.extras["running"] is True
    assert obs.extras["timed_out"] == "waiting_for_input"
    assert "waiting for input" in obs.content
    answered = send(rt, "y")
    assert answered.content == "answer=y\n"
    assert answered.extras["exit_code"] == 0


def test_python_repl_through_input(rt):
    assert run(rt, "python3 -q").extras["timed_out"] == "waiting_for_input"
    assert send(rt, "print(6 * 7)").content.startswith("42\n>>> ")
    assert send(rt, "C-d").extras["exit_code"] == 0
    assert run(rt, "echo back").content == "back\n"


def test_control_d_ends_input_and_control_z_suspends(rt):
    run(rt, "cat", timeout=0.3)
    assert send(rt, "typed", timeout=0.3).content.startswith("typed\n")
    assert send(rt, "C-d").extras["exit_code"] == 0
    run(rt, "sleep 30", timeout=0.3)
    suspended = send(rt, "C-z")
    assert suspended.extras["exit_code"] == 148
    assert "Stopped" in suspended.content
    assert run(rt, "kill %1; wait %1; echo killed").content.endswith("killed\n")


def test_pagers_do_not_wait_and_less_can_be_quit(rt):
    git = "git -c user.name=a -c user.email=a@b -c init.defaultBranch=main"
    obs = run(rt, f"{git} init -q && {git} commit -q --allow-empty -m first && git log --oneline", timeout=20)
    assert obs.extras["exit_code"] == 0
    assert "first" in obs.content
    assert run(rt, "echo $PAGER $GIT_PAGER").content == "cat cat\n"
    run(rt, "seq 1 500 > long.txt")
    paged = run(rt, "less long.txt; echo closed")
    assert paged.extras["timed_out"] == "waiting_for_input"
    assert "\n49\n" in paged.content
    assert send(rt, "q").content.endswith("closed\n")


def test_input_without_a_running_command_says_so(rt):
    obs = send(rt, "hello")
    assert "no command is running" in obs.content


def test_a_commands_own_int_trap_persists_to_the_next_command(rt):
    """Between commands bash ignores SIGINT (so a stray Ctrl-C cannot cut the next command line);
    a trap the agent set is put back for its next command, and the default comes back too."""
    run(rt, "trap 'echo caught' INT")
    assert run(rt, "trap -p INT").content == "trap -- 'echo caught' SIGINT\n"
    run(rt, "trap - INT")
    assert run(rt, "trap -p INT").content == ""
    assert run(rt, "sleep 5", timeout=0.2).extras.get("running")
    assert send(rt, "C-c").extras["exit_code"] == 130
