"""The starting workspace's archive: written and unpacked by ``tar`` when it is installed, else by ``tarfile``.

GNU tar writes and unpacks a tree several times faster than Python's ``tarfile`` (which spends
more per member than on the bytes), and it runs as its own process, so the manifest's hashing
happens meanwhile on the other core: recording a 100 MB workspace costs little more than ``tar``
alone (``benchmarks/bench_snapshot.py``). Both ways store the same thing: the paths the manifest
lists (``--no-recursion``), with modes, symlinks as links, hard links once, and modification times.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import IO, Any

from agentexec.replay import manifest as mf

Listing = list[tuple[str, os.stat_result]]


def write(workspace: Path, listing: Listing, target: Path) -> list[mf.Entry]:
    """Archive the listed paths of ``workspace`` into ``target``; their manifest entries, hashed."""
    tar = shutil.which("tar")
    if tar is None:
        return _write_with_tarfile(workspace, listing, target)
    names = b"".join(b"./" + os.fsencode(path) + b"\0" for path, info in listing if not stat.S_ISSOCK(info.st_mode))
    command = [tar, "-C", str(workspace), "--no-recursion", "--null", "-T", "-", "-cf", str(target)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(names)
        process.stdin.close()
        entries = [mf.entry_for(workspace, path, info) for path, info in listing]  # while tar runs
        errors = process.stderr.read().decode(errors="replace").strip()
    if process.returncode != 0:
        raise OSError(f"tar exited with {process.returncode}: {errors.splitlines()[-1] if errors else ''}")
    return entries


def extract(archive: Path, destination: Path) -> None:
    """Unpack ``write``'s archive into ``destination``, modes and links as they were.

    The archive is our own record of the workspace, as trusted as the log whose commands a replay
    runs, so absolute symlinks (a venv's ``python``) are restored too.
    """
    tar = shutil.which("tar")
    if tar is None:
        trusted: dict[str, Any] = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        with tarfile.open(archive, "r") as opened:
            opened.extractall(destination, **trusted)
        return
    done = subprocess.run(
        [tar, "-xf", str(archive), "-C", str(destination), "--preserve-permissions"], capture_output=True
    )
    if done.returncode != 0:
        errors = done.stderr.decode(errors="replace").strip()
        raise OSError(f"tar exited with {done.returncode}: {errors.splitlines()[-1] if errors else ''}")


class _HashingReader:
    """A file read by ``tarfile`` once, hashed on the way: the archive and the manifest in one pass."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.sha.update(data)
        return data


def _write_with_tarfile(workspace: Path, listing: Listing, target: Path) -> list[mf.Entry]:
    entries = []
    hashes: dict[tuple[int, int], str] = {}  # hard links: the content hashed under the first name
    with tarfile.TarFile(target, "w", format=tarfile.GNU_FORMAT, copybufsize=mf.CHUNK) as archive:
        for path, info in listing:
            full = workspace / path
            if not stat.S_ISREG(info.st_mode):
                if not stat.S_ISSOCK(info.st_mode):
                    archive.addfile(archive.gettarinfo(str(full), arcname=path))
                entries.append(mf.entry_for(workspace, path, info))
                continue
            member = archive.gettarinfo(str(full), arcname=path)
            inode = (info.st_dev, info.st_ino)
            if member.islnk() and inode in hashes:
                archive.addfile(member)
            else:
                with open(full, "rb") as handle:
                    reader = _HashingReader(handle)
                    archive.addfile(member, reader)  # type: ignore[arg-type]  # tarfile only calls read()
                hashes[inode] = reader.sha.hexdigest()
            entries.append(mf.entry_for(workspace, path, info, hashes[inode]))
    return entries
