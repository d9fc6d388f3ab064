"""One bash backend behind a tiny JSON-lines protocol, for ``bench_bash.py``.

Run as ``python bash_driver.py BACKEND``; each request on stdin is a JSON object with an ``op``
(start, roundtrips, big, timeout, close) and gets one JSON line back. Timings and memory are
measured here, inside the process that holds the session, so the pipe to the benchmark costs
nothing. The peers (``swerex``, ``minisweagent``) run under the peers' own venv interpreter, so
this file imports nothing beyond the standard library at the top.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

BIG_COMMAND = "yes " + "x" * 99 + " | head -n 100000"  # 100,000 lines of 100 bytes: 10 MB
BIG_CHARS = 10_000_000


class Floor:
    """The minimal raw pexpect bash: a unique prompt, no send delay, expect_exact on a window."""

    PROMPT = "__BENCH_PROMPT_7f3a__"

    def start(self) -> None:
        import pexpect

        self.child = pexpect.spawn("/bin/bash", ["--norc", "--noprofile", "--noediting"], echo=False, encoding="utf-8")
        self.child.delaybeforesend = None
        self.child.sendline(f"PS1={self.PROMPT}; PS2=; PROMPT_COMMAND=")
        self.child.expect_exact(self.PROMPT, timeout=10)

    def run(self, command: str, timeout: float = 60) -> str:
        self.child.sendline(command)
        self.child.expect_exact(self.PROMPT, timeout=timeout, searchwindowsize=len(self.PROMPT) * 2)
        return self.child.before

    def timeout_recovery(self) -> bool:
        import pexpect

        try:
            self.run("sleep 30", timeout=1)
        except pexpect.TIMEOUT:
            self.child.sendintr()
            self.child.expect_exact(self.PROMPT, timeout=10)
        return self.run("echo ok").strip() == "ok"

    def close(self) -> None:
        self.child.close(force=True)


class SubprocessRun:
    """``subprocess.run(["bash", "-c", command])`` per command: no session at all."""

    def start(self) -> None:
        pass

    def run(self, command: str, timeout: float = 60) -> str:
        done = subprocess.run(["/bin/bash", "-c", command], capture_output=True, text=True, timeout=timeout)
        return done.stdout + done.stderr

    def timeout_recovery(self) -> bool:
        try:
            self.run("sleep 30", timeout=1)
        except subprocess.TimeoutExpired:
            pass
        return self.run("echo ok").strip() == "ok"

    def close(self) -> None:
        pass


class AgentexecSession:
    """agentexec's ``BashSession`` itself."""

    def start(self) -> None:
        from agentexec.executors.bash import BashSession

        self.session = BashSession(os.getcwd())
        self.session.start()

    def run(self, command: str, timeout: float = 60) -> str:
        return self.session.run(command, timeout=timeout).output

    def run_big(self, command: str) -> int:
        return self.session.run(command, timeout=120).total_chars

    def timeout_recovery(self) -> bool:
        assert self.session.run("sleep 30", timeout=1).running
        self.session.run("C-c", timeout=10, is_input=True)
        return self.run("echo ok") == "ok\n"

    def close(self) -> None:
        self.session.close()


class AgentexecConnect:
    """``agentexec.connect()`` with the local runtime: the whole action path, validation included."""

    def start(self) -> None:
        import agentexec

        self.rt = agentexec.connect(workspace=os.getcwd())

    def execute(self, command: str, **args: Any) -> Any:
        return self.rt.execute({"action": "run", "args": {"command": command, **args}})

    def run(self, command: str, timeout: float = 60) -> str:
        return self.execute(command, timeout=timeout).content

    def run_big(self, command: str) -> int:
        return self.execute(command, timeout=120).extras["output_chars"]

    def timeout_recovery(self) -> bool:
        assert self.execute("sleep 30", timeout=1).extras["running"]
        self.execute("C-c", is_input=True)
        return self.run("echo ok") == "ok\n"

    def close(self) -> None:
        self.rt.close()


class SweRex:
    """SWE-ReX's ``LocalRuntime`` bash session (pexpect with PS1 regexes), driven synchronously."""

    def start(self) -> None:
        from swerex.runtime.abstract import CreateBashSessionRequest
        from swerex.runtime.local import LocalRuntime

        self.loop = asyncio.new_event_loop()
        self.runtime = LocalRuntime()
        self.loop.run_until_complete(self.runtime.create_session(CreateBashSessionRequest()))

    def run(self, command: str, timeout: float = 60) -> str:
        from swerex.runtime.abstract import BashAction

        action = BashAction(command=command, timeout=timeout, check="silent")
        return self.loop.run_until_complete(self.runtime.run_in_session(action)).output

    def timeout_recovery(self) -> bool:
        from swerex.exceptions import CommandTimeoutError
        from swerex.runtime.abstract import BashInterruptAction

        try:
            self.run("sleep 30", timeout=1)
        except CommandTimeoutError:
            self.loop.run_until_complete(self.runtime.run_in_session(BashInterruptAction()))
        return self.run("echo ok").strip() == "ok"

    def close(self) -> None:
        self.loop.run_until_complete(self.runtime.close())
        self.loop.close()


class MiniSweAgent:
    """mini-swe-agent's ``LocalEnvironment``: a fresh ``subprocess`` shell per command."""

    def start(self) -> None:
        from minisweagent.environments.local import LocalEnvironment

        self.env = LocalEnvironment()

    def run(self, command: str, timeout: float = 60) -> str:
        return self.env.execute({"command": command}, timeout=int(timeout))["output"]

    def timeout_recovery(self) -> bool:
        self.run("sleep 30", timeout=1)
        return self.run("echo ok").strip() == "ok"

    def close(self) -> None:
        pass


BACKENDS = {
    "floor": Floor,
    "subprocess": SubprocessRun,
    "agentexec": AgentexecSession,
    "agentexec-connect": AgentexecConnect,
    "swe-rex": SweRex,
    "mini-swe-agent": MiniSweAgent,
}


def memory(field: str) -> int:
    """A VmRSS/VmHWM figure of this process, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def big_output(backend: Any) -> dict[str, Any]:
    """Wall time and peak RSS growth of a 10 MB output (the peak is reset first via clear_refs)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = memory("VmRSS")
    started = time.perf_counter()
    chars = backend.run_big(BIG_COMMAND) if hasattr(backend, "run_big") else len(backend.run(BIG_COMMAND))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_growth": memory("VmHWM") - before, "chars": chars}


def handle(backend: Any, request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    started = time.perf_counter()
    if op == "start":
        backend.start()
        return {"seconds": time.perf_counter() - started}
    if op == "roundtrips":
        times = []
        for _ in range(request["n"]):
            began = time.perf_counter()
            output = backend.run("echo hi")
            times.append(time.perf_counter() - began)
            if output.strip() != "hi":
                raise RuntimeError(f"echo hi gave {output!r}")
        return {"times": times}
    if op == "big":
        return big_output(backend)
    if op == "timeout":
        ok = backend.timeout_recovery()
        return {"seconds": time.perf_counter() - started, "ok": ok}
    if op == "close":
        backend.close()
        return {"seconds": time.perf_counter() - started}
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    # Replies get stdout to themselves: backends that print (mini-swe-agent's banner) go to stderr.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    backend = BACKENDS[sys.argv[1]]()
    for line in sys.stdin:
        try:
            reply = handle(backend, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - reported to the benchmark, which shows it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
