"""Output terminals still held by background jobs, drained in a thread so those jobs never block.

When a command ends and something still holds its output terminal (``server &``), that terminal
is retired here and the next command gets a fresh one, so later output of the job never leaks
into another command's observation.
"""

from __future__ import annotations

import os
import select
import threading
from pathlib import Path
from typing import Optional

from agentexec.executors.output import make_file

#: The background log stops growing here; it is still drained so that writers never block.
BACKGROUND_LOG_LIMIT = 64 * 1024 * 1024


class BackgroundReader:
    """Drains retired output terminals into ``path`` (up to ``BACKGROUND_LOG_LIMIT`` bytes); a
    terminal is closed once every process holding it has closed it."""

    def __init__(self, directory: Path) -> None:
        handle, name = make_file(directory, "background-", ".log")
        self.path = Path(name)
        self._log = os.fdopen(handle, "wb", buffering=0)
        self._written = 0
        self._fds: set[int] = set()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def adopt(self, master: int, pending: bytes) -> None:
        with self._lock:
            self._fds.add(master)
        self._write(pending)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="agentexec-bash-background", daemon=True)
            self._thread.start()
        os.write(self._wake_w, b"x")

    def _loop(self) -> None:
        while not self._stopped:
            with self._lock:
                fds = list(self._fds)
            ready, _, _ = select.select([self._wake_r, *fds], [], [])
            for fd in ready:
                if fd == self._wake_r:
                    os.read(fd, 512)
                    continue
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    self._write(data)
                else:
                    with self._lock:
                        self._fds.discard(fd)
                    os.close(fd)

    def _write(self, data: bytes) -> None:
        with self._lock:
            data = data[: max(0, BACKGROUND_LOG_LIMIT - self._written)]
            if data:
                self._log.write(data)
                self._written += len(data)

    def close(self) -> None:
        self._stopped = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._log.close()
