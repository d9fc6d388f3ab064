"""Secret environment variables: masked wherever their values appear in output (terminal view and
event log), and not passed into the ``sandbox`` unless a task names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import bwrap_unavailable, run_cli

VALUE = "sk-live-0123456789abcdef"


def run_task(root: Path, command: str, *flags: str) -> tuple[str, str]:
    (root / "ws").mkdir(exist_ok=True)
    task = {"id": "s", "workspace": "ws", "actions": [{"action": "run", "args": {"command": command}}]}
    (root / "t.json").write_text(json.dumps(task))
    result = run_cli("run", "t.json", "--log", "run.jsonl", *flags, cwd=root, env={"OPENAI_API_KEY": VALUE})
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, (root / "run.jsonl").read_text()


def test_a_secret_value_is_masked_in_the_view_and_the_log(tmp_path: Path) -> None:
    view, log = run_task(tmp_path, 'echo "key=$OPENAI_API_KEY"; printf %s "$OPENAI_API_KEY" | rev | rev')
    assert VALUE not in view and VALUE not in log
    assert "key=<hidden $OPENAI_API_KEY>" in view
    assert log.count("<hidden $OPENAI_API_KEY>") >= 2


@pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
def test_a_secret_variable_does_not_reach_the_sandbox(tmp_path: Path) -> None:
    view, log = run_task(tmp_path, 'echo "key=${OPENAI_API_KEY:-unset}"', "--runtime", "sandbox")
    assert "key=unset" in view
    assert VALUE not in log
