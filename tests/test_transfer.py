"""Trees as tar streams: GNU tar and Python's ``tarfile`` (where there is no GNU tar) behave alike.

``AGENTEXEC_TAR=python`` picks ``tarfile``; the default picks the machine's GNU tar.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from agentexec import transfer
from agentexec.errors import FileTransferError, PathNotADirectory, PathNotFound

UNPACKERS = ["tar", "python"]


@pytest.fixture(params=UNPACKERS)
def tar_choice(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "tar" and transfer.gnu_tar() is None:
        pytest.skip("GNU tar is not installed here")
    monkeypatch.setenv("AGENTEXEC_TAR", request.param)
    return request.param


def test_the_chosen_packer_is_the_one_asked_for(tar_choice: str) -> None:
    assert (transfer.gnu_tar() is None) == (tar_choice == "python")


def make_tree(root: Path) -> None:
    (root / "a/b").mkdir(parents=True)
    (root / "a/b/deep.txt").write_bytes(b"\x00deep\n")
    (root / "tool").write_text("#!/bin/sh\n")
    os.chmod(root / "tool", 0o755)
    (root / "private").write_text("p")
    os.chmod(root / "private", 0o600)
    (root / "to-deep").symlink_to("a/b/deep.txt")


def test_a_tree_copies_with_its_shape_modes_and_links(tar_choice: str, tmp_path: Path) -> None:
    make_tree(tmp_path / "src")
    (tmp_path / "dest").mkdir(mode=0o711)
    os.chmod(tmp_path / "dest", 0o711)
    transfer.copy(tmp_path / "src", tmp_path / "dest")
    dest = tmp_path / "dest"
    assert (dest / "a/b/deep.txt").read_bytes() == b"\x00deep\n"
    assert stat.S_IMODE((dest / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "private").stat().st_mode) == 0o600
    assert os.readlink(dest / "to-deep") == "a/b/deep.txt"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o711  # the destination keeps its own mode


def test_packing_what_is_not_a_directory_keeps_the_error_kind(tar_choice: str, tmp_path: Path) -> None:
    with pytest.raises(PathNotFound, match="missing"):
        transfer.tree_chunks(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(PathNotADirectory, match="file"):
        transfer.tree_chunks(tmp_path / "file")


def hostile_stream() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in ("fine.txt", "../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"data"))
    return buffer.getvalue()


def test_a_member_leading_out_of_the_destination_is_refused(tar_choice: str, tmp_path: Path) -> None:
    """A download unpacks what the agent's side sent: ``..`` must never write beside the destination."""
    dest = tmp_path / "dest"
    with pytest.raises(FileTransferError, match="dest"):
        transfer.write_all([hostile_stream()], transfer.TreeWriter(dest))
    assert not (tmp_path / "escaped.txt").exists()
