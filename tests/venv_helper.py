"""Temporary virtual environments that see this agentexec, for installing real plugin packages.

A nested venv must see the packages of the interpreter running the tests (agentexec under test,
pip, setuptools, wheel). ``--system-site-packages`` does not give that when pytest itself runs in
a venv: a venv's "system" is the *base* interpreter it was made from, so the nested venv would
see the base's old setuptools, no wheel and no agentexec. Instead a ``.pth`` file in the nested
venv adds the running interpreter's own site directories with ``site.addsitedir`` (so their
``.pth`` files, an editable install's included, are processed too), after the nested venv's own
site-packages: what is installed there wins. ``--without-pip`` keeps creating one to about a
second; packages are installed with the running interpreter's pip, offline
(``--no-deps --no-build-isolation``).
"""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path


def running_site_dirs() -> list[str]:
    """The site directories of the interpreter running the tests, venv or not, user site included."""
    dirs = [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    dirs += site.getsitepackages()
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def make_venv(where: Path) -> Path:
    """A venv at ``where`` that also sees the running interpreter's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    python = where / "bin" / "python"
    own = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in running_site_dirs()]
    Path(own, "_agentexec_tests_parent_site.pth").write_text("\n".join(lines) + "\n")
    return python


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
