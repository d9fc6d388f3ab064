"""File actions confined to the workspace: ``[executor] confine_to_workspace = true``.

A path is resolved the way the kernel's ``openat2(RESOLVE_BENEATH)`` would: one component at a
time, each opened with ``O_NOFOLLOW`` relative to the directory descriptor of the one before, so
there is no window between a check and an open in which a symlink can be swapped in. A symlink
met on the way is read and followed by hand, and only while it stays beneath the workspace; a
``..`` that would climb out of it, or an absolute path outside it, is refused. Reads and writes
then happen through the descriptor of the file's own directory (``dir_fd``), never by path.

The editor reads and writes through ordinary paths, so under confinement it works on a private
copy of the file (``Shadow``), and what it wrote is carried back through the confined writer.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional, TypeVar

from agentexec.executors.files import EditError

#: Symlinks followed in one resolution before it counts as a loop, as Linux's MAXSYMLINKS.
MAX_SYMLINKS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
T = TypeVar("T")


class PathEscape(PermissionError):
    """A file action's path leads out of the workspace; the message names the path and why."""


class Confinement:
    """Resolves and opens paths beneath one workspace directory, race-free."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(os.path.realpath(workspace))

    # -- resolution --------------------------------------------------------------------------

    def relative(self, path: str | Path) -> list[str]:
        """The components of ``path`` below the workspace; absolute paths must lie inside it."""
        text = os.fspath(path)
        if "\0" in text:
            raise PathEscape(f"{text!r}: a path cannot contain a NUL byte")
        candidate = Path(text).expanduser()
        if candidate.is_absolute():
            normal = Path(os.path.normpath(candidate))
            if normal != self.workspace and self.workspace not in normal.parents:
                raise PathEscape(f"{text}: an absolute path outside the workspace {self.workspace} is refused")
            candidate = normal.relative_to(self.workspace)
        return [part for part in candidate.parts if part not in ("", ".")]

    @contextmanager
    def parent(self, path: str | Path, create: bool = False) -> Iterator[tuple[int, str]]:
        """``(directory fd, final name)`` for ``path``; the final name is not a symlink when it exists.

        With ``create``, missing parent directories are made (each with ``mkdir`` at the parent's
        descriptor, so a symlink planted meanwhile is never followed).
        """
        parts = self.relative(path)
        if not parts:
            raise PathEscape(f"{path}: names the workspace itself, not a file in it")
        stack = [os.open(self.workspace, _DIR_FLAGS)]
        try:
            name = self._walk(stack, parts, os.fspath(path), create)
            yield stack[-1], name
        finally:
            for fd in stack:
                os.close(fd)

    def _walk(self, stack: list[int], parts: list[str], shown: str, create: bool) -> str:
        pending = list(parts)
        links = 0
        while True:
            name = pending.pop(0)
            if name == "..":
                if len(stack) == 1:
                    raise PathEscape(f"{shown}: '..' leads out of the workspace {self.workspace}")
                os.close(stack.pop())
                if not pending:
                    raise PathEscape(f"{shown}: names a directory, not a file")
                continue
            target = _readlink(stack[-1], name)
            if target is not None:
                links += 1
                if links > MAX_SYMLINKS:
                    raise PathEscape(f"{shown}: too many levels of symbolic links")
                pending = self._follow(stack, target, shown) + pending
                if not pending:
                    raise PathEscape(f"{shown}: a symlink to the workspace itself names no file")
                continue
            if not pending:
                return name
            stack.append(self._open_dir(stack[-1], name, shown, create))

    def _follow(self, stack: list[int], target: str, shown: str) -> list[str]:
        """The components a symlink's target stands for; an absolute one restarts at the workspace."""
        if not target.startswith("/"):
            return [part for part in target.split("/") if part not in ("", ".")]
        try:
            inside = self.relative(target)
        except PathEscape:
            raise PathEscape(f"{shown}: a symlink leads out of the workspace (to {target})") from None
        while len(stack) > 1:
            os.close(stack.pop())
        return inside

    def _open_dir(self, dir_fd: int, name: str, shown: str, create: bool) -> int:
        for _ in range(MAX_SYMLINKS):
            try:
                return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except FileNotFoundError:
                if not create:
                    raise FileNotFoundError(f"no such file or directory: {shown}") from None
                try:
                    os.mkdir(name, dir_fd=dir_fd)
                except FileExistsError:
                    pass  # made meanwhile: opened (or refused) on the next round
            except OSError as exc:
                # A symlink swapped in after the readlink is never followed: O_NOFOLLOW refuses it
                # with ELOOP, or with ENOTDIR since O_DIRECTORY is checked first.
                if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and _is_symlink(dir_fd, name)):
                    raise PathEscape(f"{shown}: {name!r} was replaced by a symlink while it was opened") from None
                if exc.errno == errno.ENOTDIR:
                    raise NotADirectoryError(f"{shown}: {name!r} is not a directory") from None
                raise
        raise PathEscape(f"{shown}: {name!r} keeps changing while it is opened")

    # -- file operations ---------------------------------------------------------------------

    def read_bytes(self, path: str | Path) -> bytes:
        """The content of a file beneath the workspace, opened with ``O_NOFOLLOW`` at its directory."""
        with self.parent(path) as (dir_fd, name):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, dir_fd=dir_fd)
            except FileNotFoundError:
                raise FileNotFoundError(f"no such file: {self.shown(path)}") from None
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise PathEscape(f"{path}: was replaced by a symlink while it was opened") from None
                raise
            with os.fdopen(fd, "rb") as handle:
                if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
                    raise IsADirectoryError(
                        f"{self.shown(path)} is a directory; use the edit action's 'view' to list it"
                    )
                return handle.read()

    def write_bytes(self, path: str | Path, data: bytes) -> None:
        """Replace a file atomically: a temporary file in the same directory, renamed over it by descriptor."""
        with self.parent(path, create=True) as (dir_fd, name):
            try:
                mode = stat.S_IMODE(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            temp = f".{name[:200]}.{os.urandom(6).hex()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(temp, flags, 0o600, dir_fd=dir_fd)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    os.fchmod(out.fileno(), mode)
                os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)  # replaces a link, never follows one
            except BaseException:
                _unlink_quietly(dir_fd, temp)
                raise

    def kind(self, path: str | Path) -> Optional[str]:
        """``"file"``, ``"dir"`` or ``None`` (absent) for what ``path`` names, symlinks resolved beneath."""
        try:
            with self.parent(path) as (dir_fd, name):
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return None
        return "dir" if stat.S_ISDIR(mode) else "file"

    def unlink(self, path: str | Path) -> None:
        with self.parent(path) as (dir_fd, name):
            _unlink_quietly(dir_fd, name)

    @contextmanager
    def directory(self, path: str | Path) -> Iterator[Path]:
        """A directory beneath the workspace, pinned open, as a ``/proc/self/fd`` path for listing it."""
        with self.parent(path) as (dir_fd, name):
            fd = self._open_dir(dir_fd, name, os.fspath(path), create=False)
            try:
                yield Path(f"/proc/self/fd/{fd}")
            finally:
                os.close(fd)

    def shown(self, path: str | Path) -> Path:
        """The path as messages show it: absolute, in the workspace."""
        return self.workspace.joinpath(*self.relative(path))


class Shadow:
    """Private copies of workspace files that the path-based editor works on under confinement.

    A copy lives at the same relative path under a private directory, so the editor's undo
    history (kept per path) stays valid from one action to the next.
    """

    def __init__(self, confinement: Confinement) -> None:
        self.confinement = confinement
        self.root = Path(tempfile.mkdtemp(prefix="agentexec-confined-"))

    def run(self, path: str | Path, edit: Callable[[Path], T]) -> T:
        """Copy the file in, run ``edit`` on the copy, carry a changed or removed copy back."""
        confinement = self.confinement
        copy = self.root.joinpath(*confinement.relative(path))
        before: Optional[bytes] = None
        if confinement.kind(path) == "file":
            before = confinement.read_bytes(path)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(before)
        elif copy.exists():
            copy.unlink()
        result = edit(copy)
        after = copy.read_bytes() if copy.is_file() else None
        if after is not None and after != before:
            confinement.write_bytes(path, after)
        elif after is None and before is not None:
            confinement.unlink(path)
        return result

    def edit(self, path: str, viewing: bool, apply: Callable[[Path], str]) -> str:
        """``apply`` (the editor) on a private copy of the file, its messages naming the real path;
        a directory is viewed through its pinned descriptor, so a swapped-in symlink cannot lead out."""
        confinement = self.confinement
        try:
            if viewing and confinement.kind(path) == "dir":
                with confinement.directory(path) as pinned:
                    return apply(pinned).replace(str(pinned), str(confinement.shown(path)))
            return self.unmask(self.run(path, apply))
        except EditError as exc:
            raise EditError(self.unmask(str(exc))) from None

    def unmask(self, text: str) -> str:
        """Messages name the workspace file, never the private copy."""
        return text.replace(str(self.root), str(self.confinement.workspace))

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _readlink(dir_fd: int, name: str) -> Optional[str]:
    """The target of ``name`` if it is a symlink, else ``None`` (absent names included)."""
    try:
        return os.readlink(name, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOENT):
            return None
        raise


def _unlink_quietly(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _umask() -> int:
    """The process umask, read from /proc where possible (setting it to read it races other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0)
        os.umask(mask)
        return mask


def _is_symlink(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False
