"""Fixtures shared by every test directory; plain helper functions are in ``tests/helpers.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty user project directory (the CLI runs with it as cwd)."""
    directory = tmp_path / "project"
    directory.mkdir()
    return directory
