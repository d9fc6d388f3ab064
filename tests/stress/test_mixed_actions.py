"""Stress: many mixed actions (run, read, write, edit, a custom one) with interrupts at seeded
random points, through ``local``, ``process`` and ``sandbox``. Every action gets exactly one
observation, in order, and replaying the log in a fresh workspace ends in the same files.

``STRESS_ACTIONS`` sets the count per runtime (default 50, quick on 2 busy cores; 1000 for the
full run).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tests.helpers import STREAMING_OPS_MODULE, bwrap_unavailable, read_log, run_cli

COUNT = int(os.environ.get("STRESS_ACTIONS", "50"))


def mixed_actions(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    actions: list[dict] = []
    files: list[str] = []
    while len(actions) < count:
        kind = rng.choice(["write", "write", "read", "edit", "run", "custom", "interrupt"])
        if kind == "write" or not files:
            name = f"f{rng.randrange(12)}.txt"
            files.append(name)
            lines = "".join(f"line {rng.randrange(1000)}\n" for _ in range(rng.randrange(1, 6)))
            actions.append({"action": "write", "args": {"path": name, "content": lines}})
        elif kind == "read":
            actions.append({"action": "read", "args": {"path": rng.choice(files)}})
        elif kind == "edit":
            name = f"e{len(actions)}.txt"
            files.append(name)
            actions.append({"action": "edit", "args": {"command": "create", "path": name, "file_text": "edited\n"}})
        elif kind == "run":
            name = rng.choice(files)
            actions.append({"action": "run", "args": {"command": f"echo {len(actions)} >> {name}; wc -l < {name}"}})
        elif kind == "custom":
            actions.append({"action": "count_lines", "args": {"path": rng.choice(files)}})
        else:  # a command interrupted at a random point of its run
            delay = rng.choice([0.05, 0.1, 0.2])
            actions.append(
                {"action": "run", "args": {"command": f"sleep 3; echo late{len(actions)}", "timeout": delay}}
            )
            actions.append({"action": "run", "args": {"command": "C-c", "is_input": True}})
    return actions[:count]


def workspace_files(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(root.glob("*.txt"))}


RUNTIMES = [
    "local",
    "process",
    pytest.param("sandbox", marks=pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "ok")),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_action_has_one_observation_in_order_and_replay_matches(tmp_path: Path, runtime: str) -> None:
    (tmp_path / "ops.py").write_text(STREAMING_OPS_MODULE)
    (tmp_path / "ws").mkdir()
    actions = mixed_actions(COUNT, seed=len(runtime))
    (tmp_path / "t.json").write_text(json.dumps({"id": "stress", "workspace": "ws", "actions": actions}))
    (tmp_path / "agentexec.toml").write_text(
        f'[core]\nruntime_executor = "ops:OpsExecutor"\nmax_iterations = {COUNT + 10}\n'
    )
    result = run_cli("run", "t.json", "--runtime", runtime, "--log", "run.jsonl", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    events = read_log(tmp_path / "run.jsonl")
    logged = [e for e in events[1:] if "action" in e and e["action"] != "finish"]
    assert [{"action": e["action"], "args": e["args"]} for e in logged] == actions
    observations = [e for e in events[1:] if "observation" in e]
    assert [o["cause"] for o in observations] == [e["seq"] for e in events[1:] if "action" in e]
    assert all(
        o["observation"] != "error" or "interrupt" in o["content"] or "running" in o["content"] for o in observations
    ), [o for o in observations if o["observation"] == "error"][:3]
    assert not any("late" in o["content"] for o in observations), "an interrupted command went on"
    replayed = tmp_path / "replayed"
    again = run_cli(
        "replay",
        "run.jsonl",
        "--runtime",
        runtime,
        "--workspace",
        str(replayed),
        "--log",
        "replay.jsonl",
        cwd=tmp_path,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr
    assert workspace_files(replayed) == workspace_files(tmp_path / "ws") != {}
