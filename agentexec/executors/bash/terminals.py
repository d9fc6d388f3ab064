"""The session's file descriptors: the output terminal a command writes to, and the marker channel.

Two terminals: bash's own (its controlling terminal, where input and keys travel, and where
programs writing to ``/dev/tty`` write), held by pexpect, and an *output terminal* that a
command's stdout and stderr are pointed at. Markers travel on neither: they come on a FIFO.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import time
from pathlib import Path
from typing import Optional

#: Size of both terminals: wide, so that tools do not wrap or truncate lines.
ROWS, COLUMNS = 50, 200

#: How long bash may take to close the output terminal after a command before its holder counts
#: as a background process (the only cost: a command that leaves one running returns this late).
#: A job started with ``&`` holds it until its own redirections apply, which on a loaded machine
#: was seen to take over 0.1 s (``setsid cmd >/dev/null &`` was then taken for a holder).
RELEASE_WAIT = 0.3

#: What is read from the output terminal once a command has ended; beyond it, a process still
#: writing there is a background job, whose output goes to the background log.
FINAL_READ_LIMIT = 1 << 20


class OutputTerminal:
    """The pty a command writes to; this process holds its slave end only while a command runs.

    Holding no slave end between commands lets a single read tell whether anyone else (a
    background job) still holds it: the kernel answers EIO to the master when nobody does.
    """

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # no "\n" -> "\r\n"
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self.path = os.ttyname(slave)
        self.slave: Optional[int] = slave
        os.set_blocking(self.master, False)

    def hold(self) -> None:
        if self.slave is None:
            self.slave = os.open(self.path, os.O_RDWR | os.O_NOCTTY)

    def read_final(self) -> bytes:
        """What the command left unread, read without waiting once it has ended.

        A non-blocking read of a pty master first pushes what the kernel still buffers for it, so
        every byte the command's finished processes wrote is here; ``FINAL_READ_LIMIT`` bounds the
        read against a background job that keeps writing.
        """
        data = b""
        while len(data) < FINAL_READ_LIMIT:
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:  # BlockingIOError: nothing more; EIO: nobody holds it
                break
            if not chunk:
                break
            data += chunk
        return data

    def release(self) -> bytes | None:
        """Drop our slave end; None if nobody else holds the terminal, else what is unread.

        bash closes its end as the command's redirection ends, so a holder is given
        ``RELEASE_WAIT`` seconds to go before it counts as a background process.
        """
        if self.slave is not None:
            os.close(self.slave)
            self.slave = None
        deadline = time.monotonic() + RELEASE_WAIT
        while True:
            try:
                return os.read(self.master, 1 << 16)
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    return b""
                select.select([self.master], [], [], left)
            except OSError:
                return None

    def close(self) -> None:
        for fd in (self.slave, self.master):
            if fd is not None:
                os.close(fd)
        self.slave = None


class MarkerChannel:
    """The FIFO the session's markers come on; this process holds both ends.

    Holding a write end of its own keeps the FIFO from reporting end-of-file each time bash's
    ``printf`` closes its end, so ``select`` wakes only for markers.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)

    def read(self) -> bytes:
        try:
            return os.read(self.fd, 1 << 16)
        except OSError:
            return b""

    def close(self) -> None:
        os.close(self._writer)
        os.close(self.fd)


def read_once(fd: int) -> bytes:
    """One read from a terminal; b"" when it is closed (EIO) or has nothing after all."""
    try:
        return os.read(fd, 1 << 16)
    except OSError:
        return b""


def read_available(fd: int) -> bytes:
    """What a terminal holds right now, without waiting."""
    data = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = read_once(fd)
        if not chunk:
            break
        data += chunk
    return data


def drain(fd: int) -> None:
    """Discard what a terminal holds (bash's job reports between commands)."""
    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return
