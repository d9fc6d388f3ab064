"""Inspect AI's whole sandbox self-check as an unprivileged user, on ``local`` and ``process``.

Run as root, several checks cannot hold for a provider that runs commands as the caller (root
reads a file whose mode forbids it), which is why the root run of ``test_inspect_selfcheck``
judges ours against Inspect's own ``local`` provider. Here the suite runs again as uid 65534 with
no capabilities, one subprocess per provider (side by side: the checks mostly wait on
timeouts): every check must pass for ours, except one that needs root by design, which Inspect's
own ``local`` provider, run beside them, fails as well.

The user is dropped with ``setpriv`` when that uid can run this interpreter; where the
interpreter lives in a directory it cannot read (a pyenv under ``/root``), with bubblewrap's user
namespace instead (``--unshare-user --uid 65534``): uid 65534 without any capability, though
files it makes belong to root outside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.helpers import REPO, bwrap_unavailable

pytest.importorskip("inspect_ai", reason="the Inspect sandbox provider needs: pip install 'agentexec[inspect]'")

UID = 65534
#: The checks that need root by design: they add a user, and only root may.
NEEDS_ROOT = {"test_exec_as_user": "adduser (and exec as another user) needs root"}

RUN_CHECKS = textwrap.dedent(
    """
    import json, sys, tempfile
    import anyio
    from inspect_ai.util._sandbox import self_check
    from inspect_ai.util._sandbox.local import LocalSandboxEnvironment
    from agentexec.integrations.inspect_sandbox import AgentexecSandboxConfig, AgentexecSandboxEnvironment

    def run(make):
        async def wrapped():
            return await make()
        return anyio.run(wrapped)

    name, wanted = sys.argv[1], sys.argv[2:] or sorted(self_check.__all__)
    if name == "inspect-local":
        environments, environment = None, LocalSandboxEnvironment()
    else:
        config = AgentexecSandboxConfig(runtime=name, workspace=tempfile.mkdtemp(prefix="unprivileged-"))
        environments = run(lambda: AgentexecSandboxEnvironment.sample_init("unprivileged", config, {}))
        environment = environments["default"]
    failed = {}
    for check in wanted:
        try:
            run(lambda: getattr(self_check, check)(environment))
        except Exception as exc:
            failed[check] = f"{type(exc).__name__}: {exc}"[:400]
    if environments is not None:
        run(lambda: AgentexecSandboxEnvironment.sample_cleanup("unprivileged", None, environments, False))
    print(json.dumps({"uid": __import__("os").geteuid(), "checks": len(wanted), "failed": failed}))
    """
)


def drop_command() -> list[str]:
    """The prefix that runs a command as the unprivileged uid here; skips, saying why, where none can."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to a throwaway uid; as a non-root user the root-run suite already is this")
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        command = [setpriv, f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "--inh-caps=-all"]
        # the interpreter must start again from in there: the process runtime starts its server with it
        again = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import agentexec'], check=True)"
        probe = subprocess.run([*command, sys.executable, "-c", again], capture_output=True)
        if probe.returncode == 0:
            return command
    if bwrap_unavailable():
        pytest.skip(f"uid {UID} cannot run {sys.executable} and bubblewrap is unusable: {bwrap_unavailable()}")
    return ["bwrap", "--bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-user", "--uid", str(UID),
            "--gid", str(UID), "--die-with-parent", "--"]  # fmt: skip


def test_the_whole_suite_passes_as_an_unprivileged_user() -> None:
    command = drop_command()
    home = Path(tempfile.mkdtemp(prefix="unprivileged-home-"))
    os.chmod(home, 0o777)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": "/tmp"}
    # Inspect's local provider is the reference for the checks that need root only: its whole run
    # adds a minute of waiting on timeouts and proves nothing about ours
    providers = {"inspect-local": list(NEEDS_ROOT), "local": [], "process": []}
    running = {
        name: subprocess.Popen(
            [*command, sys.executable, "-c", RUN_CHECKS, name, *checks],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, checks in providers.items()
    }
    reports = {}
    try:
        for name, process in running.items():
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, f"{name}: {err[-2000:]}"
            reports[name] = json.loads(out.splitlines()[-1])
    finally:
        for process in running.values():
            if process.poll() is None:
                process.kill()
        shutil.rmtree(home, ignore_errors=True)
    assert all(report["uid"] == UID for report in reports.values()), reports
    assert reports["local"]["checks"] >= 44 and reports["process"]["checks"] >= 44
    for name in ("local", "process"):
        unexpected = set(reports[name]["failed"]) - set(NEEDS_ROOT)
        assert not unexpected, {check: reports[name]["failed"][check] for check in unexpected}
    for check in NEEDS_ROOT:  # the reference: Inspect's own local provider cannot pass them either
        assert check in reports["inspect-local"]["failed"], reports["inspect-local"]
