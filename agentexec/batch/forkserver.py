"""The local engine's fork server: a process that imports agentexec and the user's classes once,
then forks a fresh worker process per task.

Why not ``multiprocessing``'s forkserver, which this replaces: each of its workers re-ran the
driver's main script (for the ``agentexec`` console script: the CLI module and its imports),
rebuilt the driver's ``sys.path``, ``argv`` and working directory and unpickled a ``Process``
before the task began, about 7 ms of a worker's CPU per task when the task itself takes 30; and
``ensure_running`` returned before the preload finished, so the first task waited for it. Here a
worker is a fork of a server idling in its loop, with the job's pickle already in memory, and
``ForkServer()`` returns once the server is ready.

The server runs in the driver's process group with SIGINT ignored: a terminal's Ctrl-C reaches
the whole group, and only the workers decide what it means. The server exits when the driver
closes its socket, or dies. Its imported objects are frozen out of the garbage collector
(``gc.freeze``), so a collection in a worker never walks, and copies, the server's heap.

Protocol, over a Unix stream socket pair:

- driver -> server: frames of a 4-byte length and a payload. First ``pickle((sys_path, modules))``;
  then one per worker to start: the job's pickle, sent with the write end of the worker's result
  pipe attached (SCM_RIGHTS); one descriptor per frame, so they pair up in order.
- server -> driver: 9-byte records ``kind, a, b``. ``R``: ready. ``S pid errno``: the worker of the
  next job in order started (pid 0: the fork failed with ``errno``). ``X pid code``: a worker ended,
  ``code`` as ``Popen.returncode`` (negative: killed by that signal).
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import traceback
from collections import deque
from typing import NoReturn, Optional

FRAME = struct.Struct("!I")
RECORD = struct.Struct("!cii")
READY, STARTED, EXITED = b"R", b"S", b"X"


class ForkServer:
    """The driver's side: starts the server, asks it for workers, reads what becomes of them."""

    def __init__(self, modules: list[str]) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = f"from agentexec.batch.forkserver import serve; serve({theirs.fileno()})"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
        )
        theirs.close()
        path = [entry or os.getcwd() for entry in sys.path]  # '' is the driver's cwd, not the server's
        init = pickle.dumps((path, modules))
        self._pending = b""
        self.alive = True
        try:
            self.sock.sendall(FRAME.pack(len(init)) + init)
        except OSError:  # it died at once; the read below finds out and says so
            pass
        records: list[tuple[bytes, int, int]] = []
        while not records and self.alive:
            records = self._read(block=True)
        if records[:1] != [(READY, 0, 0)]:
            raise RuntimeError(f"the batch fork server exited with code {self.process.wait()} before it was ready")

    def fileno(self) -> int:
        return self.sock.fileno()

    def start(self, payload: bytes, result_fd: int) -> None:
        """Ask for a worker running ``payload``; its ``STARTED`` record follows in order."""
        header = FRAME.pack(len(payload))
        sent = socket.send_fds(self.sock, [header, payload], [result_fd])
        if sent < len(header) + len(payload):  # a signal handler interrupted a long send
            self.sock.sendall((header + payload)[sent:])

    def records(self) -> list[tuple[bytes, int, int]]:
        """Records that have arrived, without waiting; ``alive`` turns False when the server is gone."""
        return self._read(block=False)

    def close(self) -> None:
        """Closing the socket ends the server; wait for it so no zombie is left."""
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read(self, block: bool) -> list[tuple[bytes, int, int]]:
        data = b""
        if self.alive:
            try:
                data = self.sock.recv(1 << 16, 0 if block else socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return []
            except OSError:
                data = b""
            if not data:
                self.alive = False
        data, self._pending = self._pending + data, b""
        whole = len(data) - len(data) % RECORD.size
        self._pending = data[whole:]
        return [RECORD.unpack_from(data, at) for at in range(0, whole, RECORD.size)]


def serve(fd: int) -> None:
    """The server's main loop (``python -c``): preload, say ready, fork a worker per frame, report exits."""
    sock = socket.socket(fileno=fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to wake the loop, through wake_w
    signal.set_wakeup_fd(wake_w)
    frames = _Frames(sock)
    path, modules = pickle.loads(frames.next_frame(block=True) or pickle.dumps(([], [])))
    sys.path[:] = path
    for module in modules:
        try:
            __import__(module)
        except Exception:  # noqa: BLE001 - preloading is a head start; each task reports its own import error
            pass
    gc.freeze()
    try:
        _loop(sock, frames, wake_r, wake_w)
    except (BrokenPipeError, ConnectionResetError):  # the driver is gone: so is the reason to serve
        pass


def _loop(sock: socket.socket, frames: _Frames, wake_r: int, wake_w: int) -> None:
    sock.sendall(RECORD.pack(READY, 0, 0))
    while frames.open:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        if wake_r in ready:
            _drain(wake_r)
            for pid, code in _reap():
                sock.sendall(RECORD.pack(EXITED, pid, code))
        if sock.fileno() not in ready:
            continue
        frames.receive()
        while (payload := frames.next_frame(block=False)) is not None:
            result_fd = frames.fds.popleft()
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(result_fd)
                sock.sendall(RECORD.pack(STARTED, 0, exc.errno or 0))
                continue
            if pid == 0:
                _worker(payload, result_fd, [sock.fileno(), wake_r, wake_w, *frames.fds])
            os.close(result_fd)
            sock.sendall(RECORD.pack(STARTED, pid, 0))


class _Frames:
    """Length-prefixed frames from the driver, and the descriptors that came with them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.fds: deque[int] = deque()
        self.open = True

    def receive(self) -> None:
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 16)
        except InterruptedError:
            return
        for fd in fds:
            os.set_inheritable(fd, False)  # a result pipe is the worker's alone, not its subprocesses'
        self.fds.extend(fds)
        self.buffer += data
        self.open = bool(data)

    def next_frame(self, block: bool) -> Optional[bytes]:
        while True:
            if len(self.buffer) >= FRAME.size:
                (size,) = FRAME.unpack_from(self.buffer)
                if len(self.buffer) >= FRAME.size + size:
                    frame = self.buffer[FRAME.size : FRAME.size + size]
                    self.buffer = self.buffer[FRAME.size + size :]
                    return frame
            if not block or not self.open:
                return None
            self.receive()


def _worker(payload: bytes, result_fd: int, server_fds: list[int]) -> NoReturn:
    """A forked worker: drop the server's descriptors and signal set-up, run the job, never return."""
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in server_fds:
            os.close(fd)
        from agentexec.batch.worker import process_main

        process_main(pickle.loads(payload), result_fd)
    except BaseException:  # noqa: BLE001 - whatever happens, a worker must not return into the server's loop
        traceback.print_exc()
    finally:
        os._exit(1)


def _reap() -> list[tuple[int, int]]:
    ended: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append((pid, os.waitstatus_to_exitcode(status)))


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass
