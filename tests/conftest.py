"""Shared fixtures: run the real CLI in a subprocess, in a temporary directory of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def readme_block(after: str, language: str) -> str:
    """The first ``language`` code block in README.md after the line holding ``after``: tests run the
    README's own code, so the README cannot drift from what works."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rest = text[text.index(after) :]
    opening = f"```{language}\n"
    start = rest.index(opening) + len(opening)
    return rest[start : rest.index("```", start)]


#: The README's ten-line custom executor, as a user writes it beside their config.
OPS_MODULE = readme_block("Put `ops.py` next to your `agentexec.toml`", "python")


def run_cli(
    *args: str,
    cwd: Path | str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m agentexec ARGS`` in ``cwd``; AGENTEXEC_* variables of the caller are dropped."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    return subprocess.run(
        [sys.executable, "-m", "agentexec", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def read_log(path: Path | str) -> list[dict[str, Any]]:
    """Every JSON line of an event log (header first)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty user project directory (the CLI runs with it as cwd)."""
    directory = tmp_path / "project"
    directory.mkdir()
    return directory
