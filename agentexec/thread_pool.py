"""Reused daemon threads for work that may overlap: the server's side-by-side actions.

Starting a thread per action cost the server 100-300 µs of CPU per action on a 2-core VM (the
start handshake and the scheduler), a third of a ``read`` round trip. These threads stay and
take the next job when theirs is done; a new one starts only when every thread is busy, so any
number of jobs can run at once, as with a thread per job. They are daemon threads, like the one
each job had: a job stuck in user code never keeps the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("agentexec.thread_pool")


class ThreadPool:
    """Runs each submitted call in an idle thread of the pool, or in a new one when none is idle."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job, less the jobs already promised to them

    def submit(self, call: Callable[..., Any], *args: Any) -> None:
        """Run ``call(*args)`` now, in a thread of its own for as long as it runs."""
        with self._lock:
            reuse = self._idle > 0
            if reuse:
                self._idle -= 1
        self._jobs.put((call, args))
        if not reuse:
            threading.Thread(target=self._serve, name=self.name, daemon=True).start()

    def _serve(self) -> None:
        while True:
            call, args = self._jobs.get()
            try:
                call(*args)
            except BaseException:  # noqa: BLE001 - the thread must live on: a job is promised to it
                log.exception("a job of %s failed", self.name)
            with self._lock:
                self._idle += 1
