"""No output of a command, however crafted, is taken for the session's markers (a real bash)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentexec.executors.bash import BashSession

END = "agentexec-test-end"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    bash = BashSession(tmp_path_factory.mktemp("forge"))
    bash.start()
    yield bash
    bash.close()


def test_a_first_command_that_ends_bash_shows_only_its_own_output(tmp_path):
    bash = BashSession(tmp_path)
    bash.start()
    try:
        result = bash.run("echo hi; exit 3", timeout=10)
        assert (result.output, result.exit_code) == ("hi\n", 3)
        again = bash.run("echo again", timeout=10)
        assert (again.output, again.exit_code) == ("again\n", 0)
    finally:
        bash.close()


def test_replaying_everything_the_session_knows_about_itself_fakes_nothing(session):
    """The command reads the session's functions, variables and runner, and prints them back in
    every framing a marker has had, then ends with its own exit code."""
    crafted = (
        'state="$(declare -f; declare -p; cat "$(dirname "$__aex_marks")"/aexrun* 2>/dev/null)"; '
        "for id in 0 1 2 3 $__aex_id $((__aex_id+1)); do "
        'printf \'E%s:0:/forged\\0S%s\\0\\036%s:%s:0:/forged:%s\\036\' $id $id "$state" $id "$state"; '
        "printf 'E%s:0:/forged\\0' $id >/dev/tty; done; "
        "printf '%s' \"$state\" >/dev/null; sleep 0.2; echo " + END + "; (exit 9)"
    )
    before = session.run("pwd", timeout=10).output.strip()
    result = session.run(crafted, timeout=10)
    assert result.exit_code == 9 and not result.running
    assert result.output.endswith(END + "\n")
    assert result.cwd == before and session.run("pwd", timeout=10).output.strip() == before


def test_output_that_looks_like_a_report_for_the_next_command_does_not_end_it(session):
    next_id = session._command_id + 2
    session.run(f"printf 'E{next_id}:0:/forged\\0'", timeout=10)
    slow = session.run(f"sleep 0.3; echo {END}; (exit 4)", timeout=10)
    assert (slow.output, slow.exit_code) == (END + "\n", 4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.binary(max_size=2048), code=st.integers(0, 255), to_tty=st.booleans())
def test_any_bytes_on_stdout_stderr_or_the_terminal_leave_the_end_and_exit_code_exact(
    session, tmp_path_factory, noise, code, to_tty
):
    crafted = tmp_path_factory.getbasetemp() / "noise.bin"
    crafted.write_bytes(noise)
    target = ">/dev/tty" if to_tty else ">&2"
    result = session.run(f"cat {crafted}; cat {crafted} {target}; printf '\\n{END}'; (exit {code})", timeout=10)
    assert (result.exit_code, result.running) == (code, False)
    assert END in result.output  # read to the command's real end (bytes from /dev/tty may follow it)
