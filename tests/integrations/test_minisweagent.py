"""mini-swe-agent's own agent loop (DefaultAgent, its DeterministicModel) running commands through agentexec."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import STREAMING_OPS_MODULE, bwrap_unavailable, read_log, run_cli

os.environ.setdefault("MSWEA_SILENT_STARTUP", "1")  # mini-swe-agent prints a banner on import otherwise
pytest.importorskip(
    "minisweagent", reason="the minisweagent extra is not installed: pip install 'agentexec[minisweagent]'"
)

import yaml  # noqa: E402
from minisweagent import package_dir  # noqa: E402
from minisweagent.agents.default import DefaultAgent  # noqa: E402
from minisweagent.environments import get_environment  # noqa: E402
from minisweagent.models.test_models import DeterministicModel, make_output  # noqa: E402

ENVIRONMENT_CLASS = "agentexec.integrations.minisweagent.AgentexecEnvironment"
needs_bwrap = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")

SCRIPT = [
    make_output("look around", [{"command": "printf 'a\\nb\\n' > notes.txt; echo made; echo oops >&2"}]),
    make_output("cd does not carry over", [{"command": "cd /; export GONE=1"}]),
    make_output("check", [{"command": "pwd; echo ${GONE:-unset}; wc -l < notes.txt; exit 4"}]),
    make_output("too slow", [{"command": "echo begun; sleep 30; echo never"}]),
    make_output("still usable", [{"command": "echo alive"}]),
    make_output("done", [{"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT; echo the answer is 42"}]),
]


def run_agent(tmp_path: Path, **environment: object) -> tuple[dict, dict, Path]:
    """mini-swe-agent's packaged default config (templates, env), its agent section for DefaultAgent."""
    shipped = yaml.safe_load((package_dir / "config" / "default.yaml").read_text())
    workspace = tmp_path / "ws"
    log = tmp_path / "trajectory.agentexec.jsonl"
    trajectory = tmp_path / "trajectory.json"
    env = get_environment(
        {
            **shipped["environment"],
            "environment_class": ENVIRONMENT_CLASS,
            "workspace": str(workspace),
            "log_path": str(log),
            "timeout": 2,
            **environment,
        }
    )
    try:
        agent = DefaultAgent(
            DeterministicModel(outputs=SCRIPT, observation_template=shipped["model"]["observation_template"]),
            env,
            **{**shipped["agent"], "cost_limit": 0},  # the test model bills 1.0 a call; no budget here
            output_path=trajectory,
        )
        exit_info = agent.run("make notes and submit")
    finally:
        env.close()
    return exit_info, json.loads(trajectory.read_text()), log


def observations(trajectory: dict) -> list[tuple[str, str]]:
    """Each observation message: what the model was shown, and the environment's raw output."""
    messages = [m for m in trajectory["messages"] if m["role"] == "user" and "raw_output" in m.get("extra", {})]
    return [(m["content"], m["extra"]["raw_output"]) for m in messages]


def check_run(exit_info: dict, trajectory: dict, log: Path, tmp_path: Path) -> None:
    assert exit_info["exit_status"] == "Submitted"
    assert exit_info["submission"] == "the answer is 42\n"
    seen = observations(trajectory)
    assert "<returncode>0</returncode>" in seen[0][0] and seen[0][1] == "made\noops\n"
    assert "<returncode>4</returncode>" in seen[2][0]
    assert seen[2][1] == f"{tmp_path / 'ws'}\nunset\n2\n"  # back in the workspace, the variable gone
    assert "<returncode>-1</returncode>" in seen[3][0] and "timed out after 2 seconds" in seen[3][0]
    assert seen[3][1] == "begun\n"
    assert seen[4][1] == "alive\n"
    assert trajectory["info"]["agentexec_log"] == str(log)
    records = read_log(log)
    actions = [r for r in records if "action" in r]
    # a step is every action in the log (as replay counts them): each command, and the C-c that
    # stopped the timed-out one
    assert records[0]["agentexec"] and records[-1]["result"]["steps"] == len(actions) == len(SCRIPT) + 1
    commands = [r["args"]["command"] for r in records if r.get("action") == "run"]
    assert any("notes.txt" in c for c in commands) and "C-c" in commands  # the timed-out command was stopped
    shown = run_cli("show", str(log), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr


def test_default_agent_runs_through_the_local_runtime(tmp_path: Path) -> None:
    exit_info, trajectory, log = run_agent(tmp_path, runtime="local")
    check_run(exit_info, trajectory, log, tmp_path)
    assert (tmp_path / "ws" / "notes.txt").read_text() == "a\nb\n"


@needs_bwrap
def test_default_agent_runs_in_the_sandbox_with_a_custom_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_dir = tmp_path / "user"
    user_dir.mkdir()
    (user_dir / "miniswe_ops.py").write_text(STREAMING_OPS_MODULE)
    monkeypatch.chdir(user_dir)
    exit_info, trajectory, log = run_agent(tmp_path, runtime="sandbox", executor="miniswe_ops:OpsExecutor")
    check_run(exit_info, trajectory, log, tmp_path)
    core = read_log(log)[0]["config"]["core"]
    assert core["runtime"] == "sandbox" and core["runtime_executor"] == "miniswe_ops:OpsExecutor"
    assert trajectory["info"]["config"]["environment"]["runtime"] == "sandbox"


def test_the_per_call_timeout_and_cwd_win_over_the_config(tmp_path: Path) -> None:
    env = get_environment(
        {"environment_class": ENVIRONMENT_CLASS, "workspace": str(tmp_path / "ws"), "log_path": str(tmp_path / "l")}
    )
    try:
        result = env.execute({"command": "pwd; sleep 5"}, cwd="/", timeout=1)
    finally:
        env.close()
    assert result["returncode"] == -1 and result["output"] == "/\n"
    assert result["extra"]["exception_type"] == "TimeoutExpired"
