"""A workspace's content manifest: every path with its type, size, mode and sha256 (or link target).

The manifest is what "the same starting workspace" means for replay and resume: two trees are the
same when their manifests are. It is written as JSON lines, sorted by path, and summarised by the
sha256 of those lines (``digest``), so a log header can name a whole tree in 64 characters.
Modification times are left out on purpose: a copy made by ``cp -r`` or a batch worker has new
ones, yet the same content.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

#: Bytes read at a time when hashing a file (large enough that hashing runs near disk speed).
CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One path of a tree, relative to its root, with what the manifest compares."""

    path: str
    kind: str  # "dir", "file", "symlink" or "special" (a fifo, socket or device: not restorable)
    mode: int
    size: int = 0
    sha256: Optional[str] = None
    target: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "type": self.kind, "mode": self.mode}
        if self.kind == "file":
            data["size"], data["sha256"] = self.size, self.sha256
        if self.kind == "symlink":
            data["target"] = self.target
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        return cls(
            path=str(data["path"]),
            kind=str(data["type"]),
            mode=int(data["mode"]),
            size=int(data.get("size", 0)),
            sha256=data.get("sha256"),
            target=data.get("target"),
        )


def walk(root: Path, skip: frozenset[str] | set[str] = frozenset()) -> Iterator[tuple[str, os.stat_result]]:
    """Every path under ``root`` (not ``root`` itself) in sorted order, with its ``lstat``; links not followed.

    The relative paths in ``skip`` are left out with everything below them, never entered.
    """
    pending = [""]
    while pending:
        relative = pending.pop()
        directory = root / relative if relative else root
        with os.scandir(directory) as scan:
            children = sorted(scan, key=lambda item: item.name)
        below = []
        for child in children:
            path = f"{relative}/{child.name}" if relative else child.name
            if path in skip:
                continue
            info = child.stat(follow_symlinks=False)
            yield path, info
            if stat.S_ISDIR(info.st_mode):
                below.append(path)
        pending.extend(reversed(below))


def entry_for(root: Path, path: str, info: os.stat_result, digest: Optional[str] = None) -> Entry:
    """The manifest entry of one path; a file's sha256 is ``digest`` when the caller hashed it already."""
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISDIR(info.st_mode):
        return Entry(path, "dir", mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry(path, "symlink", mode, target=os.readlink(root / path))
    if stat.S_ISREG(info.st_mode):
        return Entry(path, "file", mode, info.st_size, digest or hash_file(root / path))
    return Entry(path, "special", mode)


def hash_file(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def manifest(root: Path) -> list[Entry]:
    """The manifest of the tree at ``root``; an absent directory has an empty one."""
    if not root.is_dir():
        return []
    return [entry_for(root, path, info) for path, info in walk(root)]


def encode(entries: list[Entry]) -> bytes:
    """The manifest as JSON lines (its file form, and what ``digest`` hashes)."""
    return b"".join(json.dumps(e.to_dict(), sort_keys=True).encode() + b"\n" for e in entries)


def digest(entries: list[Entry]) -> str:
    return hashlib.sha256(encode(entries)).hexdigest()


def decode(data: bytes) -> list[Entry]:
    return [Entry.from_dict(json.loads(line)) for line in data.splitlines() if line.strip()]


def differences(expected: list[Entry], actual: list[Entry]) -> list[str]:
    """The paths that differ between two manifests (added, removed or changed), sorted."""
    before = {e.path: e for e in expected}
    after = {e.path: e for e in actual}
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
