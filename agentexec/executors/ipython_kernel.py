"""``IPythonKernel``: one persistent IPython kernel (ipykernel) driven through jupyter_client.

The kernel is our own child process, started in the workspace with the executor's environment and
``--IPKernelApp.parent_handle`` set to our pid, so it exits by itself if we die without closing
it; ``close()`` kills its whole process group. Its ports are on 127.0.0.1, which under the
``sandbox`` runtime is the sandbox's own loopback. jupyter_client's blocking client carries the
messages: a cell's stream, result, display and error messages are collected in order (and
streamed as they come), images are written to files instead of travelling as base64, and
tracebacks lose their ANSI colours.

A timeout sends SIGINT (the kernel turns it into ``KeyboardInterrupt`` and keeps its state); a
kernel that does not come back from it, or that died, is replaced by a fresh one, and the result
says so, since every variable is lost.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any, Optional

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from agentexec.executors.output import strip_ansi

#: MIME types saved as image files, and the suffix each gets; the first one a message carries wins.
IMAGE_TYPES = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/svg+xml": ".svg",
}
#: How long an interrupted cell may take to stop before the kernel is replaced.
INTERRUPT_GRACE = 5.0
#: How often a waiting cell checks that the kernel process is still alive.
POLL_INTERVAL = 0.25


class KernelStartError(RuntimeError):
    """The kernel process did not start or did not answer in time."""


@dataclass
class CellResult:
    """What one cell did: its text as shown to the agent, and what the executor reports beside it."""

    text: str = ""
    status: str = "ok"  # ok, error, timeout, interrupted, died
    execution_count: Optional[int] = None
    images: list[str] = field(default_factory=list)
    error_name: Optional[str] = None
    notes: list[str] = field(default_factory=list)
    restarted: bool = False


class IPythonKernel:
    """A lazily started IPython kernel with the workspace as its cwd.

    Args:
        cwd: the kernel's working directory.
        env: variables added to the kernel's environment.
        image_dir: where images the cells display are written.
        startup_timeout: seconds the kernel may take to answer its first request.
    """

    def __init__(self, cwd: Path, env: dict[str, str], image_dir: Path, startup_timeout: float = 60.0) -> None:
        self.cwd = cwd
        self.env = env
        self.image_dir = image_dir
        self.startup_timeout = startup_timeout
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.client: Optional[BlockingKernelClient] = None
        self._scratch: Optional[str] = None
        self._tag = secrets.token_hex(4)  # image names stay unique across restarts and resumed runs
        self._images = 0

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the kernel and wait until it answers."""
        self._scratch = tempfile.mkdtemp(prefix="agentexec-kernel-")
        connection_file = os.path.join(self._scratch, "kernel.json")
        write_connection_file(connection_file, ip="127.0.0.1", transport="tcp")
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1", "JPY_PARENT_PID": str(os.getpid())}
        command = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            connection_file,
            f"--IPKernelApp.parent_handle={os.getpid()}",
            "--HistoryManager.enabled=False",  # no sqlite history file in the user's home
            "--InteractiveShell.colors=nocolor",
        ]
        self.cwd.mkdir(parents=True, exist_ok=True)
        log = open(os.path.join(self._scratch, "kernel.log"), "wb")  # the kernel writes to it; ours is closed at once
        try:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        finally:
            log.close()
        client = BlockingKernelClient(connection_file=connection_file)
        client.load_connection_file()
        client.start_channels()
        self.client = client
        try:
            self._wait_ready()
        except KernelStartError:
            self.close()
            raise

    def _wait_ready(self) -> None:
        assert self.client is not None and self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                raise KernelStartError(f"the IPython kernel exited with code {self.process.returncode}: {self._log()}")
            try:
                self.client.wait_for_ready(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
                return
            except RuntimeError as exc:
                if time.monotonic() >= deadline:
                    raise KernelStartError(
                        f"the IPython kernel did not answer within {self.startup_timeout:g} s: {exc}"
                    ) from None

    def _log(self) -> str:
        """The tail of the kernel's own output, for a start-up failure's message."""
        try:
            text = Path(self._scratch or "", "kernel.log").read_text(errors="replace")
        except OSError:
            return "(no output)"
        return text.strip()[-2000:] or "(no output)"

    def close(self) -> None:
        """Stop the kernel and every process it started; safe to call more than once."""
        if self.client is not None:
            self.client.stop_channels()
            self.client = None
        if self.process is not None:
            if self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    self.process.kill()
            self.process.wait()
            self.process = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def restart(self) -> None:
        self.close()
        self.start()

    def interrupt(self) -> None:
        """Send the running cell ``KeyboardInterrupt`` (SIGINT to the kernel); state is kept."""
        if self.alive:
            assert self.process is not None
            try:
                os.kill(self.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    # -- cells -----------------------------------------------------------------------------------

    def execute(self, code: str, timeout: float, on_output: Callable[[str], None]) -> CellResult:
        """Run one cell; output reaches ``on_output`` as it is produced."""
        result = CellResult()
        if not self.alive:
            died = self.process is not None
            code_note = self.process.returncode if self.process is not None else None
            self.restart()
            if died:
                result.restarted = True
                result.notes.append(
                    f"the IPython kernel had died (exit code {code_note}); a fresh kernel was started, "
                    "so earlier variables and imports are gone"
                )
        assert self.client is not None
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False)
        parts: list[str] = []

        def add(text: str, stream: bool = True) -> None:
            if text:
                parts.append(text)
                if stream:
                    on_output(text)

        outcome = self._collect(msg_id, timeout, result, add)
        if outcome == "timeout":
            result.status = "timeout"
            result.notes.append(
                f"the cell was still running after {timeout:g} s and was interrupted; the kernel keeps its state"
            )
            self.interrupt()
            if self._collect(msg_id, INTERRUPT_GRACE, result, add) != "idle":
                self._replace(result, f"it did not stop within {INTERRUPT_GRACE:g} s of the interrupt")
            else:
                self._read_reply(msg_id, result)
                result.status = "timeout"  # the KeyboardInterrupt it raised is the timeout's doing
        elif outcome == "died":
            assert self.process is not None
            self._replace(result, f"it died while running the cell (exit code {self.process.returncode})")
        else:
            self._read_reply(msg_id, result)
        result.text = "".join(parts)
        return result

    def _replace(self, result: CellResult, why: str) -> None:
        result.status = "died" if result.status != "timeout" else "timeout"
        result.restarted = True
        self.restart()
        result.notes.append(
            f"the IPython kernel was replaced by a fresh one because {why}; earlier variables and imports are gone"
        )

    def _collect(self, msg_id: str, timeout: float, result: CellResult, add: Callable[..., None]) -> str:
        """Read the cell's iopub messages until it is idle ("idle"), ``timeout`` passes, or the kernel dies."""
        assert self.client is not None
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            try:
                message = self.client.get_iopub_msg(timeout=min(POLL_INTERVAL, remaining))
            except Empty:
                if not self.alive:
                    return "died"
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            content = message["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                return "idle"
            if kind == "stream":
                add(strip_ansi(content.get("text", "")))
            elif kind in ("execute_result", "display_data"):
                if kind == "execute_result":
                    result.execution_count = content.get("execution_count")
                add(self._display(content.get("data", {}), result))
            elif kind == "error":
                result.status = "error" if result.status == "ok" else result.status
                result.error_name = content.get("ename")
                add(strip_ansi("\n".join(content.get("traceback") or [])).rstrip("\n") + "\n")

    def _display(self, data: dict[str, Any], result: CellResult) -> str:
        """A result or display's text: its image saved as a file (named in the text), else its plain text."""
        for mime, suffix in IMAGE_TYPES.items():
            if mime in data:
                path = self._save_image(data[mime], mime, suffix)
                result.images.append(path)
                return f"[image {mime} saved to {path}]\n"
        text = data.get("text/plain")
        return strip_ansi(str(text)) + "\n" if text else ""

    def _save_image(self, payload: Any, mime: str, suffix: str) -> str:
        self._images += 1
        self.image_dir.mkdir(parents=True, exist_ok=True)
        path = self.image_dir / f"ipython-{self._tag}-{self._images}{suffix}"
        if mime == "image/svg+xml":
            path.write_text(payload if isinstance(payload, str) else "".join(payload))
        else:
            path.write_bytes(base64.b64decode(payload))
        return str(path)

    def _read_reply(self, msg_id: str, result: CellResult) -> None:
        """The shell channel's execute_reply: the cell's status and execution count."""
        assert self.client is not None
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                reply = self.client.get_shell_msg(timeout=POLL_INTERVAL)
            except Empty:
                if not self.alive:
                    return
                continue
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = reply["content"]
            result.execution_count = content.get("execution_count", result.execution_count)
            if content.get("status") == "error" and result.status == "ok":
                result.status = "error"
                result.error_name = content.get("ename")
            return
