"""The replay package from Python: record with the loop, replay and verify, normalisation rules."""

from __future__ import annotations

import re
from pathlib import Path

from agentexec import connect
from agentexec.agents import ScriptedAgent
from agentexec.eventlog import make_header
from agentexec.events import Action, Observation
from agentexec.loop import LogSink, run_task
from agentexec.replay import Verifier, open_log, replay
from agentexec.replay.paths import PathMap
from agentexec.replay.source import Step
from agentexec.tasks import Task


class Collect:
    """A sink that keeps every record, as any user-written sink could."""

    def __init__(self) -> None:
        self.records: list[dict] = []

    def header(self, header: dict) -> None:
        self.records.append(header)

    def record(self, record: dict) -> None:
        self.records.append(record)

    def finish(self, result: object) -> None:
        self.records.append({"result": result})


def test_record_with_the_loop_then_replay_and_verify(tmp_path: Path) -> None:
    task = Task(
        id="api",
        actions=[
            Action(action="run", args={"command": "printf 'a\\nb\\n' > f.txt && wc -l f.txt"}),
            Action(action="edit", args={"command": "str_replace", "path": "f.txt", "old_str": "b", "new_str": "c"}),
            Action(action="read", args={"path": "f.txt"}),
        ],
    )
    log = tmp_path / "api.jsonl"
    with connect(workspace=tmp_path / "first") as runtime:
        header = make_header(task.model_dump(mode="json"), {}, workspace=str(runtime.workspace))
        run_task(task, ScriptedAgent(), runtime, sinks=[LogSink(str(log))], header=header, max_iterations=10)
    recorded = open_log(log)
    sink = Collect()
    with connect(workspace=tmp_path / "second") as runtime:
        verifier = Verifier([recorded.header["workspace"], str(runtime.workspace)], [])
        result = replay(recorded, runtime, sinks=[sink], header={"replay": True}, verifier=verifier)
    assert result.passed and result.verify["matched"] == 4 and result.steps == 4
    assert (tmp_path / "second" / "f.txt").read_text() == "a\nc\n"
    assert result.to_dict()["replayed_from"] == str(log.resolve())
    assert sink.records[0] == {"replay": True} and "result" in sink.records[-1]


def test_path_map_only_rewrites_whole_workspace_paths(tmp_path: Path) -> None:
    paths = PathMap("/workspace", tmp_path)
    action = Action(
        action="run",
        args={"command": "cd /workspace/app && cp /data/workspace/x /workspace2/y /workspace", "list": ["/workspace"]},
    )
    mapped = paths.action(action).args
    assert mapped["command"] == f"cd {tmp_path}/app && cp /data/workspace/x /workspace2/y {tmp_path}"
    assert mapped["list"] == [str(tmp_path)]
    assert PathMap(str(tmp_path), tmp_path).action(action) is action


def test_verifier_normalises_what_honestly_differs(tmp_path: Path) -> None:
    verifier = Verifier(["/old/ws", str(tmp_path)], [re.compile(r"build \d+")])
    step = Step(
        seq=1,
        action=Action(action="run", args={"command": "x"}),
        recorded=Observation(
            observation="run",
            content="/old/ws/a at 2025-01-01T10:00:00Z took 1.5s pid 123 tmp /tmp/tmpab3k9x_q/x build 7\n",
            extras={"exit_code": 0, "cwd": "/old/ws", "duration": 1.5},
        ),
    )
    same = Observation(
        observation="run",
        content=f"{tmp_path}/a at 2026-11-24T01:02:03.456+00:00 took 20 ms pid 999 tmp /tmp/tmpzz9p0w1e/x build 8",
        extras={"exit_code": 0, "cwd": str(tmp_path), "duration": 0.02},
        cause=1,
    )
    assert verifier.check(step, same) is None
    different = same.model_copy(update={"extras": {"exit_code": 2, "cwd": str(tmp_path)}})
    divergence = verifier.check(step, different)
    assert divergence is not None
    assert "-exit_code: 0" in divergence.diff and "+exit_code: 2" in divergence.diff
    assert verifier.summary()["divergent_seqs"] == [1]


def verifier_diverges(first: str, second: str) -> bool:
    verifier = Verifier([], [])
    recorded = Observation(observation="run", content=first, extras={"exit_code": 0})
    step = Step(seq=1, action=Action(action="run", args={"command": "x"}), recorded=recorded)
    replayed = Observation(observation="run", content=second, extras={"exit_code": 0}, cause=1)
    return verifier.check(step, replayed) is not None


def test_tmp_rule_replaces_generated_names_on_a_path_boundary_only() -> None:
    assert verifier_diverges("/tmp/alpha/data", "/tmp/beta/data")
    assert not verifier_diverges("/tmp/tmpab3k9x_q/data", "/tmp/tmpzz9p0w1e/data")
    assert not verifier_diverges("in /tmp/agentexec-replay-ab3k9x_q/x", "in /tmp/agentexec-replay-0w1ezz9p/x")
    assert not verifier_diverges("/tmp/tmp.AbC123xyZ0 done", "/tmp/tmp.q7W2e9RtY1 done")
    normalise = Verifier([], []).normalise
    assert normalise("/var/tmp/x and /var/tmp/tmpab3k9x_q") == "/var/tmp/x and /var/tmp/tmpab3k9x_q"
    assert normalise("/home/u/tmp/tmpab3k9x_q/y") == "/home/u/tmp/tmpab3k9x_q/y"
    assert normalise("cat /tmp/tmpab3k9x_q.txt") == "cat <tmp>"
