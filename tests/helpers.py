"""What tests share: the real CLI in a subprocess, log reading, the README's code, process checks.

Imported everywhere as ``from tests.helpers import ...``; fixtures live in ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: Beside the repository by default; AGENTEXEC_SHARED points elsewhere (a git worktree lives deeper).
SHARED = Path(os.environ.get("AGENTEXEC_SHARED") or REPO.parent / "shared")
#: Real trajectories of peer tools (tests skip cleanly where absent).
PEER_DATA = SHARED / "peer-data"


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


@cache
def bwrap_unavailable() -> str:
    """Why the sandbox cannot run here, or "" when it can."""
    from shutil import which

    if which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed; apt-get install bubblewrap"
    probe = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-net", "true"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()}"
    return ""


#: A custom executor that streams with ``self.emit`` as well as returning content.
STREAMING_OPS_MODULE = textwrap.dedent(
    '''
    from agentexec.executors import ActionExecutor, action

    class OpsExecutor(ActionExecutor):
        @action
        def count_lines(self, path: str) -> str:
            """Count the lines of a workspace file.

            Args:
                path: file to count, relative to the workspace.
            """
            self.emit(f"counting {path}\\n")
            return str(len(self.resolve(path).read_text().splitlines()))
    '''
)


def wait_for_sleepers(marker: str, running: bool, timeout: float = 5) -> bool:
    """Wait until ``sleep MARKER`` processes exist (or are all gone); False if that never happens."""
    deadline = time.monotonic() + timeout
    while bool(_sleepers(marker)) != running:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _sleepers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes() == f"sleep\0{marker}\0".encode():
                    stat = (entry / "stat").read_text()
                    if not stat.rsplit(") ", 1)[-1].startswith("Z"):
                        found.append(int(entry.name))
            except OSError:
                continue
    return found
