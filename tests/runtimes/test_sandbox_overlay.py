"""``[runtime] overlay = true``: the sandbox's system directories get an ephemeral writable layer.

Real bubblewrap: packages' and users' files can be written inside, never reach the host, and
vanish with the sandbox; ``exec`` with ``user`` works for a user added in there; the workspace
stays the host's own even when it lies under an overlaid directory; root inside still cannot mount.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import agentexec
from agentexec.runtimes.base import Runtime
from tests.helpers import bwrap_unavailable

pytestmark = pytest.mark.skipif(bool(bwrap_unavailable()), reason=bwrap_unavailable() or "bwrap works")
PROBE = f"agentexec-overlay-probe-{os.getpid()}"


def exec_(rt: Runtime, *argv: str, **args: Any) -> Any:
    return rt.execute({"action": "exec", "args": {"argv": list(argv), **args}})


@pytest.fixture
def overlaid(tmp_path: Path) -> Iterator[Runtime]:
    """A workspace under /var/tmp, which the overlay covers: it must still be bound through."""
    (tmp_path / "agentexec.toml").write_text('[core]\nruntime = "sandbox"\n[runtime]\noverlay = true\n')
    workspace = Path(tempfile.mkdtemp(prefix="overlay-ws-", dir="/var/tmp"))
    with agentexec.connect(tmp_path / "agentexec.toml", workspace=workspace) as rt:
        yield rt
    shutil.rmtree(workspace, ignore_errors=True)


def test_the_system_is_writable_inside_and_untouched_outside(overlaid: Runtime) -> None:
    wrote = exec_(overlaid, "sh", "-c", f"echo installed > /usr/local/bin/{PROBE} && cat /usr/local/bin/{PROBE}")
    assert wrote.extras["exit_code"] == 0 and wrote.content == "installed\n", wrote.extras["stderr"]
    assert exec_(overlaid, "sh", "-c", f"echo x >> /etc/{PROBE}").extras["exit_code"] == 0
    assert not Path(f"/usr/local/bin/{PROBE}").exists() and not Path(f"/etc/{PROBE}").exists()


def test_a_user_added_inside_runs_exec_with_user(overlaid: Runtime) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can map the uids an added user needs; started by another user, one uid is mapped")
    added = exec_(overlaid, "adduser", "--comment", "t", "--disabled-password", "overlay-tester", timeout=30)
    assert added.extras["exit_code"] == 0, added.extras["stderr"]
    assert exec_(overlaid, "whoami", user="overlay-tester").content == "overlay-tester\n"
    assert exec_(overlaid, "whoami").content == "root\n"
    assert exec_(overlaid, "id", "-u", "overlay-tester").extras["exit_code"] == 0
    assert "overlay-tester" not in Path("/etc/passwd").read_text()


def test_the_workspace_under_an_overlaid_directory_is_still_the_hosts(overlaid: Runtime) -> None:
    made = exec_(overlaid, "sh", "-c", "echo from-inside > made.txt && pwd")
    assert made.content.strip() == str(overlaid.workspace)
    assert (overlaid.workspace / "made.txt").read_text() == "from-inside\n"
    overlaid.write_file("put.txt", b"from the API")
    assert exec_(overlaid, "cat", "put.txt").content == "from the API"


def test_root_inside_still_cannot_mount(overlaid: Runtime) -> None:
    refused = exec_(overlaid, "mount", "-t", "tmpfs", "none", "/mnt")
    assert refused.extras["exit_code"] != 0 and "permission denied" in refused.extras["stderr"].lower()


def test_changes_vanish_when_the_sandbox_closes(tmp_path: Path) -> None:
    (tmp_path / "agentexec.toml").write_text('[core]\nruntime = "sandbox"\n[runtime]\noverlay = true\n')
    for round_number in (1, 2):
        with agentexec.connect(tmp_path / "agentexec.toml", workspace=tmp_path / "ws") as rt:
            seen = exec_(rt, "sh", "-c", f"ls /etc/{PROBE} 2>/dev/null | wc -l; touch /etc/{PROBE}")
            assert seen.content.strip() == "0", f"round {round_number}: the last sandbox's change survived"


def test_without_overlay_the_system_stays_read_only(tmp_path: Path) -> None:
    with agentexec.connect(runtime="sandbox", workspace=tmp_path / "ws") as rt:
        refused = exec_(rt, "sh", "-c", f"touch /etc/{PROBE}")
    assert refused.extras["exit_code"] != 0 and "Read-only file system" in refused.extras["stderr"]


def test_roots_commands_pass_file_permissions_but_the_file_api_does_not(overlaid: Runtime) -> None:
    """As root's commands do (adduser writes into a home it gave away); ``read_file`` honours modes."""
    overlaid.write_file("locked.txt", b"secret")
    os.chmod(overlaid.workspace / "locked.txt", 0)
    if os.geteuid() == 0:
        assert exec_(overlaid, "cat", "locked.txt").content == "secret"
    with pytest.raises(PermissionError, match="locked.txt"):
        overlaid.read_file("locked.txt")
