"""Temporary virtual environments that see this agentexec, for installing real plugin packages.

``--system-site-packages`` lets the venv import the agentexec under test (and pip and setuptools)
from the running interpreter, and ``--without-pip`` keeps creating one to about a second;
packages are installed with the interpreter's own pip, offline (``--no-deps --no-build-isolation``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def make_venv(where: Path) -> Path:
    """A venv at ``where``; returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where)],
        check=True,
        capture_output=True,
    )
    return where / "bin" / "python"


def pip_install(python: Path, package: Path) -> None:
    """Install a package directory into the venv of ``python``, with no network."""
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(package)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def agentexec(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m agentexec ARGS`` in that venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTEXEC_")}
    return subprocess.run(
        [str(python), "-m", "agentexec", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
