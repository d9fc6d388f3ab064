"""The shell-side protocol as pure text: runner scripts, trace stripping and marker parsing, no pty."""

from __future__ import annotations

import subprocess

from hypothesis import given
from hypothesis import strategies as st

from agentexec.executors.bash.markers import Ended, MarkerParser, Started, parse_record
from agentexec.executors.bash.script import (
    RUNNER_NAME,
    needs_subshell,
    quote,
    runner,
    strip_runner_trace,
    strip_source_trace,
)


def test_quote_survives_bash_word_splitting_for_any_text():
    for text in ["plain", "it's", "a b\tc", "$HOME `x` \\n", "'''"]:
        echoed = subprocess.run(["bash", "-c", f"printf %s {quote(text)}"], capture_output=True, text=True)
        assert echoed.stdout == text


def test_errexit_commands_are_told_apart_from_lookalikes():
    assert needs_subshell("set -e; false") and needs_subshell("x; set -eu") and needs_subshell("set -o errexit")
    assert not needs_subshell("echo set -x")
    assert not needs_subshell("set -x; settle -e") and not needs_subshell("reset -e")


def test_the_runner_announces_its_id_and_runs_errexit_commands_in_a_subshell():
    plain = runner(7, "/s/command.sh", "/dev/pts/9", "/s/marks", subshell=False)
    assert "builtin printf 'S%s\\0' 7" in plain and "{ . '/s/command.sh'; } >\"$__aex_tty\" 2>&1" in plain
    assert "__aex_marks='/s/marks'" in plain  # re-asserted after the command
    assert "( . '/s/command.sh' )" in runner(7, "/s/command.sh", "/dev/pts/9", "/s/marks", subshell=True)


def test_the_runner_executes_in_bash_and_reports_on_the_channel_only(tmp_path):
    command, marks = tmp_path / "command.sh", tmp_path / "marks"
    command.write_text("echo out; echo err >&2; cd /; (exit 4)\n")
    marks.touch()
    text = runner(3, str(command), "/dev/stdout", str(marks), subshell=False)
    done = subprocess.run(["bash", "-c", f"{text}\n__aex_prompt"], capture_output=True, cwd=tmp_path)
    assert done.stdout == b"out\nerr\n"
    assert marks.read_bytes() == b"E3:4:/\0"  # the announcement was overwritten by the report


def test_traces_of_the_session_own_steps_are_stripped_and_the_command_trace_kept():
    traced = f"+ . /dev/shm/agentexec-bash-x1/{RUNNER_NAME}\n".encode()
    assert strip_runner_trace(b"before\n" + traced + b"after\n") == b"before\nafter\n"
    source = b"+ . /dev/shm/agentexec-bash-x1/command.sh\n+ echo hi\nhi\n"
    assert strip_source_trace(source) == b"+ echo hi\nhi\n"
    assert strip_source_trace(b"hi\n+ . /dev/shm/agentexec-bash-x1/command.sh\n").startswith(b"hi\n")


def test_records_parse_and_anything_else_is_dropped():
    assert parse_record(b"S12") == Started(12)
    assert parse_record(b"E12:130:/tmp/with:colons\nand newline") == Ended(12, 130, "/tmp/with:colons\nand newline")
    for junk in [b"", b"S", b"Sx", b"E1:2", b"E1::/", b"X1", b"E1:2000:/", b"s1", b" S1"]:
        assert parse_record(junk) is None


def test_a_record_cut_between_reads_waits_for_its_end():
    parser = MarkerParser()
    assert parser.feed(b"S4\0E4:0:/ho") == [Started(4)]
    assert parser.feed(b"me\0") == [Ended(4, 0, "/home")]


def test_an_endless_record_is_forgotten_instead_of_growing():
    parser = MarkerParser()
    assert parser.feed(b"E1:0:" + b"x" * 10_000) == []
    assert parser.feed(b"\0S2\0") == [Started(2)]


@given(st.lists(st.binary(max_size=64), max_size=8), st.integers(0, 10**6), st.integers(0, 255), st.text())
def test_any_bytes_before_a_report_never_hide_or_change_it(noise, command_id, code, cwd):
    cwd = cwd.replace("\0", "")
    parser = MarkerParser()
    for chunk in noise:
        parser.feed(chunk.replace(b"\0", b"") + b"\0")
    report = f"E{command_id}:{code}:{cwd}".encode() + b"\0"
    assert parser.feed(report) == [Ended(command_id, code, cwd)]
