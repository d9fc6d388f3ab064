"""Executors through the public Python API: dispatch, argument checking, hooks and the standard actions.

Everything runs for real: a real bash session, real files in a temporary workspace.
"""

from __future__ import annotations

import os
import stat
import time
import warnings
from pathlib import Path
from typing import Literal, Optional

import pytest

import agentexec
from agentexec import Action, Observation
from agentexec.executors import ActionExecutor, BaseActionExecutor, action


class Calc(BaseActionExecutor):
    """No standard actions at all: nothing in setup may assume that one exists."""

    def __init__(self, workspace: str | Path = ".", env: Optional[dict[str, str]] = None) -> None:
        super().__init__(workspace, env)
        self.events: list[str] = []

    def setup(self) -> None:
        self.events.append("setup")
        super().setup()

    def on_ready(self) -> None:
        self.events.append(f"on_ready workspace_exists={self.workspace.is_dir()}")

    def close(self) -> None:
        self.events.append("close")
        super().close()

    @action
    def add(self, a: int, b: int = 2) -> str:
        """Add two integers.

        Args:
            a: the first number.
            b: the second number.
        """
        return str(a + b)

    @action
    def pick(self, mode: Literal["fast", "slow"], tags: Optional[list[str]] = None) -> Observation:
        """Return a custom observation."""
        return Observation(observation="picked", content=mode, extras={"tags": tags or []})

    @action(name="say-nothing")
    def nothing(self) -> None:
        """Return None: an empty observation."""

    @action
    def stream(self, parts: int) -> str:
        """Emit partial output."""
        for number in range(parts):
            self.emit(f"part{number}\n")
        return "done"

    @action
    def explode(self) -> str:
        """Raise."""
        raise KeyError("missing piece")

    @action
    def stop(self) -> str:
        """Raise KeyboardInterrupt, as Ctrl-C inside a handler does."""
        raise KeyboardInterrupt

    def helper(self) -> str:
        """Not an action: no @action."""
        return "reached"


class Ready(ActionExecutor):
    """Records what ``on_ready`` could see: the bash session must already be running."""

    def on_ready(self) -> None:
        assert self.bash is not None
        self.ready_cwd = self.bash.run("pwd", timeout=10).output.strip()


@pytest.fixture
def calc(tmp_path: Path):
    executor = Calc(tmp_path / "ws")
    executor.setup()
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory):
    """One started runtime with the standard actions, shared by the standard-action tests."""
    workspace = tmp_path_factory.mktemp("ws")
    with agentexec.connect(workspace=workspace) as runtime:
        yield runtime


def run(rt, command: str, **args) -> Observation:
    return rt.execute({"action": "run", "args": {"command": command, **args}})


def edit(rt, command: str, path: str, **args) -> Observation:
    return rt.execute(Action(action="edit", args={"command": command, "path": path, **args}))


# -- dispatch ------------------------------------------------------------------------------


def test_setup_creates_workspace_then_calls_on_ready(calc: Calc) -> None:
    assert calc.events == ["setup", "on_ready workspace_exists=True"]


def test_on_ready_runs_after_the_bash_session_started(tmp_path: Path) -> None:
    with Ready(tmp_path / "ws") as executor:
        assert executor.ready_cwd == str(tmp_path / "ws")


def test_executor_without_standard_actions_lists_only_its_own(calc: Calc) -> None:
    assert list(Calc.action_specs()) == ["add", "explode", "pick", "say-nothing", "stop", "stream"]
    result = calc.run_action({"action": "run", "args": {"command": "ls"}})
    assert result.is_error
    assert (
        result.content == "unknown action 'run'; this executor handles: add, explode, pick, say-nothing, stop, stream"
    )


def test_arguments_are_checked_against_type_hints(calc: Calc) -> None:
    assert calc.run_action({"action": "add", "args": {"a": 1}}).content == "3"
    assert calc.run_action({"action": "add", "args": {"a": "40", "b": 2}}).content == "42"
    wrong = calc.run_action({"action": "add", "args": {"a": "forty"}})
    assert wrong.is_error and "a: Input should be a valid integer" in wrong.content
    assert "it accepts (a: int, b: int = 2)" in wrong.content
    missing = calc.run_action({"action": "add", "args": {"b": 1}})
    assert missing.is_error and "a: Field required" in missing.content
    extra = calc.run_action({"action": "add", "args": {"a": 1, "c": 3}})
    assert extra.is_error and "c: unknown field" in extra.content
    literal = calc.run_action({"action": "pick", "args": {"mode": "medium"}})
    assert literal.is_error and "mode: Input should be 'fast' or 'slow'" in literal.content
    nested = calc.run_action({"action": "pick", "args": {"mode": "fast", "tags": ["ok", 3]}})
    assert nested.is_error and "tags[1]" in nested.content


def test_handler_returns_observation_str_or_none(calc: Calc) -> None:
    picked = calc.run_action(Action(action="pick", args={"mode": "slow", "tags": ["x"]}))
    assert (picked.observation, picked.content, picked.extras["tags"]) == ("picked", "slow", ["x"])
    text = calc.run_action({"action": "add", "args": {"a": 1}})
    assert (text.observation, text.content) == ("add", "3")
    assert text.extras["duration"] >= 0
    empty = calc.run_action({"action": "say-nothing"})
    assert (empty.observation, empty.content, empty.is_error) == ("say-nothing", "", False)


def test_only_marked_methods_are_actions(calc: Calc) -> None:
    for name in ("helper", "close", "setup", "__init__", "on_ready", "run_action", "emit", "nothing"):
        result = calc.run_action({"action": name})
        assert result.is_error and result.content.startswith(f"unknown action {name!r}")
    assert calc.events == ["setup", "on_ready workspace_exists=True"]


def test_handler_exception_becomes_error_observation(calc: Calc) -> None:
    result = calc.run_action({"action": "explode"})
    assert result.is_error
    assert result.content == "action 'explode' failed: KeyError: 'missing piece'"
    assert result.extras["exception"] == "KeyError"
    assert calc.run_action({"action": "add", "args": {"a": 0}}).content == "2"


def test_keyboard_interrupt_is_not_swallowed(calc: Calc) -> None:
    with pytest.raises(KeyboardInterrupt):
        calc.run_action({"action": "stop"})


def test_malformed_action_is_an_error_observation(calc: Calc) -> None:
    result = calc.run_action({"action": "add", "args": {"a": 1}, "bogus": True})
    assert result.is_error and "bogus: unknown field" in result.content


def test_emit_streams_partial_output(calc: Calc) -> None:
    chunks: list[str] = []
    result = calc.run_action({"action": "stream", "args": {"parts": 3}}, chunks.append)
    assert chunks == ["part0\n", "part1\n", "part2\n"] and result.content == "done"
    calc.run_action({"action": "stream", "args": {"parts": 1}})  # no listener: emit is a no-op


def test_override_without_action_mark_keeps_the_action() -> None:
    class Louder(Calc):
        def add(self, a: int, b: int = 2, shout: bool = False) -> str:
            return "SUM" if shout else super().add(a, b)

    assert Louder.action_specs()["add"].signature() == "a: int, b: int = 2, shout: bool = False"
    assert Calc.action_specs()["add"].signature() == "a: int, b: int = 2"
    schema = next(tool for tool in Louder.action_schemas() if tool["name"] == "add")
    assert schema["description"] == "Add two integers."
    assert schema["parameters"]["properties"]["a"]["description"] == "the first number."


def test_action_schema_from_docstring_and_hints() -> None:
    schema = {tool["name"]: tool for tool in Calc.action_schemas()}["add"]
    assert schema["description"] == "Add two integers."
    assert schema["parameters"]["properties"] == {
        "a": {"type": "integer", "description": "the first number."},
        "b": {"type": "integer", "description": "the second number.", "default": 2},
    }
    assert schema["parameters"]["required"] == ["a"]


def test_connect_accepts_a_class_and_closes(tmp_path: Path) -> None:
    with agentexec.connect(executor=Calc, workspace=tmp_path / "ws") as runtime:
        executor = runtime.executor
        assert runtime.execute({"action": "add", "args": {"a": 5}}).content == "7"
        assert runtime.action_schemas()[0]["name"] == "add"
    assert executor.events[-1] == "close" and runtime.executor is None


class FailingClose(ActionExecutor):
    def close(self) -> None:
        super().close()
        raise RuntimeError("cannot flush")


def test_a_failing_close_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with agentexec.connect(executor=FailingClose, workspace=tmp_path / "ws") as runtime:
        assert runtime.execute({"action": "run", "args": {"command": "echo hi"}}).content == "hi\n"
    assert "closing executor" in caplog.text and "RuntimeError: cannot flush" in caplog.text


# -- run -----------------------------------------------------------------------------------


def test_run_reports_exit_code_and_cwd(rt) -> None:
    result = run(rt, "mkdir -p deep/er && cd deep/er && echo here && (exit 3)")
    assert result.observation == "run" and result.content == "here\n"
    assert result.extras["exit_code"] == 3
    assert result.extras["cwd"] == str(rt.workspace / "deep" / "er")
    run(rt, f"cd {rt.workspace}")


def test_run_session_keeps_cwd_variables_and_functions(rt) -> None:
    run(rt, "mkdir -p keep && cd keep && export GREETING=hi && LOCAL=1 && twice() { echo $1$1; }")
    result = run(rt, "pwd; echo \"$GREETING $LOCAL\"; twice ab; bash -c 'echo child:$GREETING'")
    assert result.content.split("\n")[:4] == [str(rt.workspace / "keep"), "hi 1", "abab", "child:hi"]
    assert result.extras["cwd"] == str(rt.workspace / "keep")
    run(rt, f"cd {rt.workspace}")


def test_run_timeout_returns_without_waiting_for_the_command(rt) -> None:
    started = time.monotonic()
    result = run(rt, "sleep 20", timeout=0.5)
    assert time.monotonic() - started < 5
    assert result.extras["exit_code"] != 0
    assert "timeout" in result.content
    stopped = rt.execute({"action": "run", "args": {"command": "C-c", "is_input": True}})
    assert not stopped.extras.get("running")
    assert run(rt, "echo alive").content == "alive\n"


# -- read and write ------------------------------------------------------------------------


def test_read_whole_file_and_line_ranges(rt) -> None:
    (rt.workspace / "lines.txt").write_text("l0\nl1\nl2\nl3\n")
    assert rt.execute({"action": "read", "args": {"path": "lines.txt"}}).content == "l0\nl1\nl2\nl3\n"
    part = rt.execute({"action": "read", "args": {"path": "lines.txt", "start": 1, "end": 3}})
    assert (part.content, part.extras["path"]) == ("l1\nl2\n", str(rt.workspace / "lines.txt"))
    assert rt.execute({"action": "read", "args": {"path": "lines.txt", "start": 3}}).content == "l3\n"
    absolute = rt.execute({"action": "read", "args": {"path": str(rt.workspace / "lines.txt"), "end": 1}})
    assert absolute.content == "l0\n"


def test_read_errors_name_the_path(rt) -> None:
    missing = rt.execute({"action": "read", "args": {"path": "nope.txt"}})
    assert missing.is_error and "nope.txt" in missing.content
    directory = rt.execute({"action": "read", "args": {"path": "."}})
    assert directory.is_error and "is a directory" in directory.content


def test_write_is_atomic_and_creates_parents(rt) -> None:
    """The file is replaced by a rename: a hard link to the old file keeps the old content."""
    target = rt.workspace / "new" / "dir" / "file.txt"
    result = rt.execute({"action": "write", "args": {"path": "new/dir/file.txt", "content": "first\n"}})
    assert result.observation == "write" and target.read_text() == "first\n"
    os.link(target, rt.workspace / "old-link.txt")
    rt.execute({"action": "write", "args": {"path": "new/dir/file.txt", "content": "second\n"}})
    assert target.read_text() == "second\n"
    assert (rt.workspace / "old-link.txt").read_text() == "first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


def test_write_keeps_the_mode_of_an_existing_file_and_umask_for_new_ones(rt) -> None:
    script = rt.workspace / "tool.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    rt.execute({"action": "write", "args": {"path": "tool.sh", "content": "#!/bin/sh\necho hi\n"}})
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    umask = os.umask(0o022)
    os.umask(umask)
    rt.execute({"action": "write", "args": {"path": "fresh.txt", "content": "x"}})
    assert stat.S_IMODE((rt.workspace / "fresh.txt").stat().st_mode) == 0o666 & ~umask


def test_write_failure_leaves_no_temp_file(rt) -> None:
    (rt.workspace / "blocker").write_text("a file, not a directory")
    result = rt.execute({"action": "write", "args": {"path": "blocker", "content": "x"}})
    assert result.observation == "write"
    bad = rt.execute({"action": "write", "args": {"path": "blocker/inside.txt", "content": "x"}})
    assert bad.is_error
    assert not [p for p in rt.workspace.rglob("*.tmp")]


# -- edit ----------------------------------------------------------------------------------


def test_edit_create_view_and_create_refuses_to_overwrite(rt) -> None:
    created = edit(rt, "create", "ed/a.py", file_text="one\ntwo\nthree\n")
    assert created.observation == "edit" and (rt.workspace / "ed/a.py").read_text() == "one\ntwo\nthree\n"
    again = edit(rt, "create", "ed/a.py", file_text="x")
    assert again.is_error and "already exists" in again.content
    view = edit(rt, "view", "ed/a.py")
    assert "     1\tone\n     2\ttwo\n     3\tthree" in view.content
    ranged = edit(rt, "view", "ed/a.py", view_range=[2, 3])
    assert "     2\ttwo\n     3\tthree" in ranged.content and "\tone" not in ranged.content
    outside = edit(rt, "view", "ed/a.py", view_range=[3, 9])
    assert outside.is_error and "outside" in outside.content
    listing = edit(rt, "view", "ed")
    assert str(rt.workspace / "ed" / "a.py") in listing.content


def test_edit_str_replace_needs_exactly_one_match(rt) -> None:
    path = rt.workspace / "sr.txt"
    path.write_text("alpha\nbeta\nalpha\n")
    none = edit(rt, "str_replace", "sr.txt", old_str="gamma", new_str="x")
    assert none.is_error and "did not appear" in none.content
    two = edit(rt, "str_replace", "sr.txt", old_str="alpha", new_str="x")
    assert two.is_error and "appears 2 times" in two.content and "lines [1, 3]" in two.content
    assert path.read_text() == "alpha\nbeta\nalpha\n"
    one = edit(rt, "str_replace", "sr.txt", old_str="beta", new_str="BETA")
    assert not one.is_error and "     2\tBETA" in one.content
    assert path.read_text() == "alpha\nBETA\nalpha\n"


def test_edit_insert_and_undo(rt) -> None:
    path = rt.workspace / "ins.txt"
    path.write_text("a\nb")
    edit(rt, "insert", "ins.txt", insert_line=0, new_str="top")
    edit(rt, "insert", "ins.txt", insert_line=3, new_str="end")
    assert path.read_text() == "top\na\nb\nend"
    bad = edit(rt, "insert", "ins.txt", insert_line=9, new_str="x")
    assert bad.is_error and "insert_line 9" in bad.content
    edit(rt, "undo_edit", "ins.txt")
    assert path.read_text() == "top\na\nb"
    edit(rt, "undo_edit", "ins.txt")
    assert path.read_text() == "a\nb"
    nothing = edit(rt, "undo_edit", "ins.txt")
    assert nothing.is_error and "no edit history" in nothing.content


def test_undo_of_create_removes_the_file(rt) -> None:
    edit(rt, "create", "made.txt", file_text="x")
    undone = edit(rt, "undo_edit", "made.txt")
    assert not undone.is_error and "removed" in undone.content
    assert not (rt.workspace / "made.txt").exists()


def test_edit_missing_argument_names_it(rt) -> None:
    result = edit(rt, "str_replace", "sr.txt")
    assert result.is_error and "needs a non-empty old_str" in result.content
    (rt.workspace / "sr.txt").write_text("abc")
    empty = edit(rt, "str_replace", "sr.txt", old_str="", new_str="x")
    assert empty.is_error and "needs a non-empty old_str" in empty.content
    assert (rt.workspace / "sr.txt").read_text() == "abc"


# -- finish and message --------------------------------------------------------------------


def test_finish_and_message(rt) -> None:
    finish = rt.execute({"action": "finish", "args": {"message": "all done"}})
    assert (finish.observation, finish.content, finish.is_error) == ("finish", "all done", False)
    said = rt.execute({"action": "message", "args": {"content": "hello", "wait_for_response": True}})
    assert (said.observation, said.content, said.extras["wait_for_response"]) == ("message", "hello", True)


class Unready(ActionExecutor):
    """Fails in ``on_ready``, after its bash session started: the session must not outlive the failure."""

    bash_pid = 0

    def on_ready(self) -> None:
        assert self.bash is not None
        type(self).bash_pid = int(self.bash.run("echo $$", timeout=10).output)
        raise ConnectionError("database unreachable")


def test_failed_setup_is_one_clear_error_and_releases_the_session(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"failed to set up at .*test_standard.py:\d+: ConnectionError: database"):
        agentexec.connect(executor=Unready, workspace=tmp_path)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{Unready.bash_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Unready.bash_pid and not Path(f"/proc/{Unready.bash_pid}").exists()


def test_arguments_may_share_names_with_pydantic_methods(tmp_path: Path) -> None:
    """``json``, ``copy`` and ``schema`` are natural argument names; they must work without warnings."""

    class Http(BaseActionExecutor):
        @action
        def post(self, url: str, json: dict, copy: bool = False, schema: str = "v1") -> str:
            """Pretend to post."""
            return f"{url} {json} {copy} {schema}"

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(Http.action_schemas()[0]["parameters"]["properties"]) == ["url", "json", "copy", "schema"]
    with Http(tmp_path) as executor:
        result = executor.run_action({"action": "post", "args": {"url": "u", "json": {"a": 1}, "copy": True}})
    assert result.content == "u {'a': 1} True v1"
