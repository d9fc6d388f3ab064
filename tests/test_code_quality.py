"""The code's own standards, checked where the tests run: ruff's lint and format, and mypy.

They run on the installed sources from the repository root, so a change that breaks a type
hint on the public surface, or leaves the tree unformatted, fails the suite like a bug would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def check(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("argv", [("ruff", "check", "."), ("ruff", "format", "--check", ".")], ids=["lint", "format"])
def test_ruff_is_clean(argv: tuple[str, ...]) -> None:
    result = check(*argv)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_errors_in_the_package() -> None:
    result = check("mypy", "agentexec")
    assert result.returncode == 0, result.stdout + result.stderr
