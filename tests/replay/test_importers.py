"""Importers: OpenHands and mini-swe-agent trajectories, detected from content, shown and replayed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agentexec import connect
from agentexec.events import Action
from agentexec.replay import Verifier, open_log, replay, steps
from agentexec.replay.openhands import decode_file_editor_call
from tests.helpers import PEER_DATA as SHARED
from tests.helpers import run_cli

OPENHANDS = SHARED / "openhands-trajectories"
MINISWE = SHARED / "mini-swe-agent-trajectories"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"peer data not found at {SHARED}")


def actions_of(path: Path) -> list[Action]:
    return [step.action for step in steps(open_log(path).entries())]


def replay_api(path: Path, workspace: Path, ignore: list[str] | None = None) -> Any:
    """Replay through the Python API with verification; returns the result."""
    import re

    recorded = open_log(path)
    with connect(workspace=workspace) as runtime:
        verifier = Verifier(
            [recorded.header.get("workspace"), str(runtime.workspace)],
            [re.compile(p) for p in ignore or []],
            recorded.format,
        )
        return replay(recorded, runtime, sinks=[], header=recorded.header, verifier=verifier)


@needs_shared
def test_openhands_samples_are_detected_by_content_and_mapped(tmp_path: Path) -> None:
    renamed = tmp_path / "trajectory.log"  # the name says nothing; the content does
    shutil.copy(OPENHANDS / "basic.json", renamed)
    recorded = open_log(renamed)
    assert recorded.format == "openhands"
    assert recorded.header["workspace"] == "/workspace"
    assert recorded.header["task"]["instruction"].startswith("Please create a simple 2048 game")
    edit, finish = actions_of(renamed)
    assert edit.action == "edit" and edit.args["command"] == "create"
    assert edit.args["path"] == "/workspace/game_2048.py" and "class Game2048" in edit.args["file_text"]
    assert finish.action == "finish" and finish.args["message"].startswith("I've created a simple implementation")

    gui = open_log(OPENHANDS / "basic_gui_mode.json")
    assert any("6 environment events" in note for note in gui.notes)
    records = [record for record, _ in gui.entries()]
    runs = [r for r in records if r.get("observation") == "run"]
    assert [r["extras"]["exit_code"] for r in runs] == [0, -1]
    assert [r["action"] for r in records if "action" in r] == ["run", "edit", "edit", "run", "message"]

    view, move, _, _ = actions_of(OPENHANDS / "wrong_initial_state.json")
    assert view.action == "edit" and view.args == {"command": "view", "path": "/workspace"}
    assert move.args == {"command": "mv /workspace/game_2048.py /workspace/2048.py"}

    chat = open_log(OPENHANDS / "basic_interactions.json")
    assert any("2 user message events" in note for note in chat.notes)
    assert [a.action for a in actions_of(OPENHANDS / "basic_interactions.json")] == ["message", "message", "finish"]


@needs_shared
def test_openhands_replay_verifies_against_the_recording(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "game_2048.py").write_text("print('2048')\n")
    result = replay_api(OPENHANDS / "wrong_initial_state.json", prepared)
    assert result.outcome == "replayed", result.message
    assert result.verify["matched"] == 3 and result.verify["diverged"] == 0
    assert (prepared / "2048.py").exists() and not (prepared / "game_2048.py").exists()

    # Replayed where the file does not exist (what the sample is for), the mv fails: caught, with a diff.
    env = {"TMPDIR": str(tmp_path)}
    done = run_cli("replay", str(OPENHANDS / "wrong_initial_state.json"), "--verify", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert "-exit_code: 0" in done.stdout and "+exit_code: 1" in done.stdout
    assert "mv: cannot stat '<workspace>/game_2048.py'" in done.stdout

    created = replay_api(OPENHANDS / "basic.json", tmp_path / "fresh")
    assert created.outcome == "replayed" and created.verify["matched"] == 1
    assert "class Game2048" in (tmp_path / "fresh" / "game_2048.py").read_text()
    assert replay_api(OPENHANDS / "basic_interactions.json", tmp_path / "chat").verify["not_recorded"] == 3


@needs_shared
def test_openhands_gui_sample_replays_up_to_the_server(tmp_path: Path) -> None:
    outside = Path("/workspace/todo-app").exists()
    done = run_cli(
        "replay", str(OPENHANDS / "basic_gui_mode.json"), "--verify", "--to", "5", "--workspace", "ws", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "ws" / "todo-app" / "index.html").is_file()
    assert (tmp_path / "ws" / "todo-app" / "app.js").is_file()
    assert json.loads(done.stdout.splitlines()[-1])["result"]["verify"]["matched"] == 3
    assert Path("/workspace/todo-app").exists() == outside  # nothing written outside the replay workspace


def test_openhands_forms_unknown_actions_are_reported(tmp_path: Path) -> None:
    events = [
        {"id": 0, "source": "user", "action": "message", "args": {"content": "go"}},
        {"id": 1, "source": "agent", "action": "edit", "args": {
            "path": "/workspace/f.txt", "command": "create", "file_text": "a\nb\n", "impl_source": "oh_aci"}},
        {"id": 2, "source": "agent", "action": "read", "args": {
            "path": "/workspace/f.txt", "impl_source": "oh_aci", "view_range": [2, 2]}},
        {"id": 3, "source": "agent", "action": "read", "args": {"path": "/workspace/f.txt", "start": 1, "end": -1}},
        {"id": 4, "source": "agent", "action": "browse_interactive", "args": {
            "browser_actions": "goto('http://127.0.0.1:1')", "thought": ""}},
        {"id": 5, "source": "agent", "action": "think", "args": {"thought": "hmm"}},
        {"id": 6, "source": "agent", "action": "finish", "args": {"final_thought": "done", "outputs": {"n": 1}}},
    ]  # fmt: skip
    path = tmp_path / "oh.json"
    path.write_text(json.dumps(events))
    recorded = open_log(path)
    assert any("'browse_interactive' has no agentexec equivalent" in note for note in recorded.notes)
    assert any("1 'think' actions" in note for note in recorded.notes)
    create, view, read, browse, finish = actions_of(path)
    assert view.args == {"command": "view", "path": "/workspace/f.txt", "view_range": [2, 2]}
    assert read.action == "read" and read.args == {"path": "/workspace/f.txt", "start": 1}
    assert browse.action == "browse_interactive" and browse.args == {"browser_actions": "goto('http://127.0.0.1:1')"}
    assert finish.args == {"message": 'done\n\noutputs: {"n": 1}'}
    result = replay_api(path, tmp_path / "ws")
    assert (tmp_path / "ws" / "f.txt").read_text() == "a\nb\n"
    assert result.steps == 5 and result.outcome == "replayed"
    done = run_cli("replay", str(path), "--json", cwd=tmp_path, env={"TMPDIR": str(tmp_path)})
    assert "'browse_interactive' has no agentexec equivalent" in done.stderr
    assert "unknown action 'browse_interactive'" in done.stdout


def test_legacy_translated_ipython_code_is_decoded_without_running_it() -> None:
    code = "print(file_editor(**{'command': 'str_replace', 'path': '/workspace/a.py', 'old_str': 'x', 'new_str': 'y'}))"
    assert decode_file_editor_call(code, "event 1") == {
        "command": "str_replace",
        "path": "/workspace/a.py",
        "old_str": "x",
        "new_str": "y",
    }
    with pytest.raises(ValueError, match="event 2: translated_ipython_code cannot be decoded"):
        decode_file_editor_call("print(file_editor(**{'path': __import__('os').system('true')}))", "event 2")


@needs_shared
def test_mini_swe_agent_samples_import_and_replay(tmp_path: Path) -> None:
    local = open_log(MINISWE / "local.traj.json")
    assert local.format == "mini-swe-agent"
    run, finish = actions_of(MINISWE / "local.traj.json")
    assert run.args == {"command": "( echo 'hello world'\n)"} and run.thought == "Here be some dummy command:"
    assert finish.action == "finish"
    result = replay_api(MINISWE / "local.traj.json", tmp_path / "ws")
    assert result.outcome == "replayed" and result.verify == {
        "compared": 2, "matched": 2, "diverged": 0, "not_recorded": 0, "divergent_seqs": []}  # fmt: skip

    issue = actions_of(MINISWE / "github_issue.traj.json")
    assert [a.action for a in issue] == ["run"] * 9 + ["finish"]
    assert issue[-1].args["message"].startswith("diff --git a/tests/missing_colon.py")
    recorded = [s.recorded for s in steps(open_log(MINISWE / "github_issue.traj.json").entries())]
    assert [r.extras.get("exit_code") for r in recorded[:2]] == [1, 0]


def test_mini_swe_agent_wrapper_and_fresh_subshells(tmp_path: Path) -> None:
    def turn(command: str) -> dict[str, str]:
        return {"role": "assistant", "content": f"THOUGHT\n\n```bash\n{command}\n```"}

    def reply(code: int, output: str) -> dict[str, str]:
        return {"role": "user", "content": f"<returncode>{code}</returncode>\n<output>\n{output}</output>"}

    messages = [
        {"role": "system", "content": "you are"},
        {"role": "user", "content": "task text"},
        turn("mkdir -p sub && cd sub && pwd"), reply(0, "/testbed/sub\n"),
        turn("basename $(pwd)"), reply(0, "testbed\n"),
        {"role": "assistant", "content": "no command here"}, {"role": "user", "content": "format error"},
        turn("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"), {"role": "user", "content": "submitted"},
    ]  # fmt: skip
    wrapped = {"info": {"config": {"environment": {"cwd": "/testbed"}}}, "messages": messages,
               "trajectory_format": "mini-swe-agent-1.1"}  # fmt: skip
    path = tmp_path / "t.traj.json"
    path.write_text(json.dumps(wrapped))
    recorded = open_log(path)
    assert recorded.header["workspace"] == "/testbed" and recorded.header["task"]["instruction"] == "task text"
    assert any("0 bash blocks" in note for note in recorded.notes)
    workspace = tmp_path / "testbed"
    result = replay_api(path, workspace)
    # The cd did not carry over (each command had its own subshell), as in mini-swe-agent.
    assert result.verify == {"compared": 3, "matched": 3, "diverged": 0, "not_recorded": 0, "divergent_seqs": []}
