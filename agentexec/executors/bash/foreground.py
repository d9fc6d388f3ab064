"""The command in bash's foreground and the keys meant for it, as one piece of state under one lock.

A key that signals (C-c, C-z) makes bash drop the rest of a line it is reading, and the tail of a
cut line would then run as a command of its own. So from the moment a runner line is sent until
the runner announces itself (``Phase.LAUNCHED``), such keys are held and sent on the
announcement; once it has (``Phase.STARTED``) they go at once; with nothing running
(``Phase.IDLE``) they would only reach bash's prompt, and are dropped. An interrupt that comes
while a ``run()`` is preparing its command (``awaited`` and idle) cancels that command instead.

A Ctrl-C can also be lost while bash forks the command's next process: bash itself, or the child
before it has exec'd, takes the signal, and the command goes on (``sleep 3; echo late`` prints
"late"). So after a Ctrl-C the foreground process is watched for a moment; if the same command
still runs a process that a SIGINT would have ended, the key never reached it and is sent again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum

#: Keys sent for the special ``is_input`` commands.
CONTROL_KEYS = {"C-c": "\x03", "C-d": "\x04", "C-z": "\x1a"}

#: How long, and how often, the foreground is watched after a Ctrl-C for a key that got lost.
MISSED_KEY_WATCH = 1.0
MISSED_KEY_CHECK = 0.02
MISSED_KEY_REPEATS = 3


class Phase(Enum):
    IDLE = "idle"  # bash is at its prompt
    LAUNCHED = "launched"  # the runner line is sent; bash may still be reading it
    STARTED = "started"  # the runner has announced itself


class Foreground:
    """What runs in bash's foreground; ``send`` writes text to bash's terminal, ``interrupt_missed``
    says whether the foreground process is one that a Ctrl-C would have ended."""

    def __init__(self, send: Callable[[str], None], interrupt_missed: Callable[[], bool]) -> None:
        self._send = send
        self._interrupt_missed = interrupt_missed
        self._lock = threading.Lock()
        self._launches = 0  # tells a command from the next one, for a key being watched
        self.phase = Phase.IDLE
        self.awaited = False  # a run() is reading (or about to start) the current command
        self._cancelled = False
        self._held: list[str] = []

    @property
    def running(self) -> bool:
        return self.phase is not Phase.IDLE

    def reset(self) -> None:
        """A fresh bash: nothing runs, nothing is held."""
        self.phase, self._held = Phase.IDLE, []

    def finished(self) -> None:
        self.phase = Phase.IDLE

    @contextmanager
    def awaiting(self) -> Iterator[None]:
        """While a ``run()`` prepares, sends and reads its command."""
        self.awaited, self._cancelled = True, False
        try:
            yield
        finally:
            self.awaited = False

    def launch(self, line: str) -> bool:
        """Send the runner line, unless an interrupt has cancelled it already (then False)."""
        with self._lock:  # a key from another thread goes before this line or is held for it
            if self._cancelled:
                return False
            self.phase, self._held = Phase.LAUNCHED, []
            self._launches += 1
            self._send(line)
        return True

    def interrupt(self) -> bool:
        """Ctrl-C for the foreground command; False when none runs (a ``run()`` about to send one
        will not)."""
        with self._lock:
            if not self.running:
                self._cancelled = self.awaited
                return False
            self._send_or_hold("C-c")
        return True

    def press(self, key: str) -> None:
        """C-c or C-z for the running command, now or once its runner has started."""
        with self._lock:
            if self.running:  # else it ended meanwhile: the key would only reach bash's prompt
                self._send_or_hold(key)

    def started(self, ended: bool) -> None:
        """The runner has announced itself: send the keys held for it, unless the command already ended."""
        with self._lock:
            self.phase = Phase.STARTED
            keys, self._held = self._held, []
            for key in keys if not ended else ():
                self._send_key(key)

    def _send_or_hold(self, key: str) -> None:
        if self.phase is Phase.STARTED:
            self._send_key(key)
        else:
            self._held.append(key)

    def _send_key(self, key: str) -> None:
        """Send ``key`` now (the lock is held); a Ctrl-C is watched in case it gets lost."""
        self._send(CONTROL_KEYS[key])
        if key == "C-c":
            threading.Thread(target=self._repeat_if_missed, args=(self._launches,), daemon=True).start()

    def _repeat_if_missed(self, launch: int) -> None:
        """Send Ctrl-C again while command ``launch`` runs a process that it would have ended."""
        deadline, repeats = time.monotonic() + MISSED_KEY_WATCH, 0
        while time.monotonic() < deadline and repeats < MISSED_KEY_REPEATS:
            time.sleep(MISSED_KEY_CHECK)
            with self._lock:
                if self._launches != launch or self.phase is not Phase.STARTED:
                    return
                if self._interrupt_missed():
                    self._send(CONTROL_KEYS["C-c"])
                    repeats += 1
