"""The session's scratch directory: the command file, the runner file and the marker channel's FIFO."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from agentexec.executors.bash.script import RUNNER_NAME


def scratch_root() -> Optional[str]:
    """Where scratch files go: /dev/shm when writable, since they are rewritten for every command
    and removed at close, which on a disk mounted with ``discard`` costs about 1 ms a file; else
    the temporary directory."""
    return "/dev/shm" if os.access("/dev/shm", os.W_OK | os.X_OK) else None


class ScratchFiles:
    """Files rewritten in place for each command (on ext4, truncating on open costs milliseconds)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="agentexec-bash-", dir=scratch_root()))
        self.command = self.directory / "command.sh"
        self.runner = self.directory / RUNNER_NAME  # bash is told one word per command: `. RUNNER`
        self.marks = self.directory / "marks"
        self._command_fd: Optional[int] = None
        self._runner_fd: Optional[int] = None

    def open(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.marks.unlink(missing_ok=True)  # a session restarted after bash died makes it anew
        self._command_fd = os.open(self.command, os.O_WRONLY | os.O_CREAT, 0o600)
        self._runner_fd = os.open(self.runner, os.O_WRONLY | os.O_CREAT, 0o600)

    def write_command(self, text: str) -> None:
        _rewrite(self._command_fd, text)

    def write_runner(self, text: str) -> None:
        _rewrite(self._runner_fd, text)

    def remove(self) -> None:
        for fd in (self._command_fd, self._runner_fd):
            if fd is not None:
                os.close(fd)
        self._command_fd = self._runner_fd = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _rewrite(fd: Optional[int], text: str) -> None:
    assert fd is not None, "the scratch files are not open"
    data = (text + "\n").encode("utf-8", "surrogateescape")
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))
