"""``agentexec config``: every value a run will use, with its source, whole however long it is."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli

OPS = """
from agentexec.executors import ActionExecutor


class SlowExecutor(ActionExecutor):
    def __init__(self, patience: float = 7.5, **kwargs):
        super().__init__(**kwargs)
        self.patience = patience
"""


def test_executor_defaults_are_listed_with_the_class_they_come_from(project: Path) -> None:
    (project / "ops.py").write_text(OPS)
    (project / "agentexec.toml").write_text(
        '[core]\nruntime_executor = "ops:SlowExecutor"\n\n[executor]\ntimeout = 9\n'
    )
    result = run_cli("config", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    rows = {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)["values"]}
    assert rows["executor.patience"] == (7.5, "default of ops:SlowExecutor")  # the class's own
    assert rows["executor.no_output_timeout"] == (30.0, "default of ops:SlowExecutor")  # its base's
    assert rows["executor.timeout"] == (9, f"{project / 'agentexec.toml'}:5")  # set: the file wins
    assert "executor.workspace" not in rows and "executor.env" not in rows  # the run supplies those
    assert rows["batch.engine"] == ("local", "default of agentexec batch")
    table = run_cli("config", cwd=project).stdout
    assert "executor.patience" in table and "executor.max_output_chars" in table


def test_a_class_that_does_not_load_is_a_note_not_a_failure(project: Path) -> None:
    result = run_cli("config", "--executor", "nosuch:Thing", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "core.runtime_executor" in result.stdout and "nosuch:Thing" in result.stdout
    assert "executor nosuch:Thing did not load, so its defaults are not shown" in result.stderr


def test_the_table_keeps_long_paths_and_names_whole_when_piped(project: Path) -> None:
    deep = project / ("a-rather-long-directory-name-" * 4) / "and-a-workspace-below-it"
    result = run_cli("config", "--workspace", str(deep), cwd=project, env={"AGENTEXEC_EXECUTOR_TIMEOUT": "5"})
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    row = next(line for line in result.stdout.splitlines() if "core.workspace" in line)
    assert str(deep) in row and "flag --workspace" in row
    assert any("env AGENTEXEC_EXECUTOR_TIMEOUT" in line for line in result.stdout.splitlines())
