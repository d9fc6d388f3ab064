"""SWE-agent trajectories: detected by their shape (not as OpenHands), shown, and replayed with --verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentexec.events import Action, Observation
from agentexec.replay import Verifier, miniswe, open_log, openhands, steps, sweagent
from agentexec.replay.importers import comparison
from agentexec.replay.source import Step
from tests.helpers import PEER_DATA, run_cli, write_json

SWE_AGENT = PEER_DATA / "swe-agent-trajectories"
SAMPLES = sorted(SWE_AGENT.glob("*.traj")) if SWE_AGENT.is_dir() else []
needs_samples = pytest.mark.skipif(not SAMPLES, reason=f"no SWE-agent sample trajectories at {SWE_AGENT}")


def small_trajectory(workdir: str) -> dict[str, Any]:
    """A SWE-agent .traj as SWE-agent writes one: shell commands, a tool-bundle command, a submission."""

    def step(action: str, observation: str) -> dict[str, Any]:
        return {"action": action, "observation": observation, "thought": f"run {action.split()[0]}",
                "response": "...", "state": json.dumps({"open_file": "n/a", "working_dir": workdir})}  # fmt: skip

    return {
        "environment": "main",
        "trajectory": [
            step(f"printf 'one\\ntwo\\n' > {workdir}/notes.txt", ""),
            step(f"cat {workdir}/notes.txt", "one\r\ntwo\r\n"),
            step("cat missing.txt", "cat: missing.txt: No such file or directory"),
        ],
        "history": [{"role": "system", "content": "you are"}, {"role": "user", "content": "write the notes"}],
        "info": {"submission": "diff --git a/notes.txt b/notes.txt\n", "exit_status": "submitted"},
    }


def test_small_trajectory_is_swe_agent_not_openhands(tmp_path: Path) -> None:
    data = small_trajectory("/repo")
    data["trajectory"].append({"action": "submit", "observation": "diff --git", "thought": "done"})
    path = write_json(tmp_path / "run.traj", data)
    assert sweagent.sniff(data) and not openhands.sniff(data) and not miniswe.sniff(data)
    recorded = open_log(path)
    assert recorded.format == "swe-agent" and recorded.header["imported"]["format"] == "swe-agent"
    assert recorded.header["workspace"] == "/repo"
    assert recorded.header["task"]["instruction"] == "write the notes"
    actions = [s.action for s in steps(recorded.entries())]
    assert [a.action for a in actions] == ["run"] * 4 + ["finish"]
    assert actions[1].args == {"command": "cat /repo/notes.txt"} and actions[1].thought == "run cat"
    assert actions[3].args == {"command": "submit"}  # kept as its text
    assert actions[4].args == {"message": "diff --git a/notes.txt b/notes.txt\n"}
    assert any("tool-bundle commands (submit ×1)" in note for note in recorded.notes)


def test_replay_of_a_swe_agent_trajectory_verifies_output(tmp_path: Path) -> None:
    """SWE-agent records no exit codes: the text is compared, and a failing command still matches."""
    path = write_json(tmp_path / "run.traj", small_trajectory("/repo"))
    done = run_cli("replay", str(path), "--verify", "--workspace", "ws", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "ws" / "notes.txt").read_text() == "one\ntwo\n"  # /repo mapped onto the workspace
    verify = json.loads(done.stdout.splitlines()[-1])["result"]["verify"]
    assert verify == {"compared": 4, "matched": 4, "diverged": 0, "not_recorded": 0, "divergent_seqs": []}


def test_swe_agent_verification_compares_text_not_exit_codes() -> None:
    assert comparison("swe-agent") == "output" and comparison("openhands") == "portable"
    assert comparison("agentexec") == "full"
    step = open_step("echo hi", Observation(observation="run", content="hi", cause=1))
    verifier = Verifier([None], [], "swe-agent")
    assert verifier.check(step, Observation(observation="run", content="hi", extras={"exit_code": 0}, cause=1)) is None
    divergence = verifier.check(step, Observation(observation="run", content="ho", extras={"exit_code": 0}, cause=1))
    assert divergence is not None and "-hi" in divergence.diff and "+ho" in divergence.diff


def open_step(command: str, recorded: Observation) -> Step:
    return Step(seq=1, action=Action(action="run", args={"command": command}), recorded=recorded)


def test_trajectory_without_steps_or_submission_still_shows(tmp_path: Path) -> None:
    data = {"trajectory": [], "history": [], "info": {"exit_status": "exit_cost"}}
    path = write_json(tmp_path / "empty.traj", data)
    recorded = open_log(path)
    assert recorded.format == "swe-agent" and list(recorded.entries()) == []
    assert any("'exit_cost'" in note for note in recorded.notes)
    assert any("no submission" in note for note in recorded.notes)
    shown = run_cli("show", str(path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr


@needs_samples
@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_imports_and_shows(sample: Path, tmp_path: Path) -> None:
    data = json.loads(sample.read_text(encoding="utf-8"))
    recorded = open_log(sample)
    assert recorded.format == "swe-agent"
    actions = [s.action for s in steps(recorded.entries())]
    commands = [a.args["command"] for a in actions if a.action == "run"]
    assert commands == [s["action"].strip("\n") for s in data["trajectory"] if s.get("action", "").strip()]
    if data.get("info", {}).get("submission"):
        assert actions[-1].action == "finish" and actions[-1].args["message"] == data["info"]["submission"]

    shown = run_cli("show", str(sample), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "imported from swe-agent" in shown.stdout
    as_json = run_cli("show", "--json", str(sample), cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert records[0]["imported"]["format"] == "swe-agent"
    assert [r["args"]["command"] for r in records if r.get("action") == "run"] == commands
