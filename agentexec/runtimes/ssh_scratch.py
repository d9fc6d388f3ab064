"""A per-run scratch directory on the ssh host: the user's executor code goes in, spilled outputs come back.

The remote host has agentexec installed but not the project directory, so a custom executor next
to ``agentexec.toml`` (``ops.py``, or a package directory) would not import there. Before the
server starts, one ssh call makes ``$TMPDIR/agentexec-XXXXXXXX`` on the host, unpacks the code
into its ``code/`` (made importable with ``--import-path``) and an empty ``out/`` (the executor's
``output_dir`` there). At close, after the server has ended, a second call streams ``out/`` back
as a tar stream into the run's output directory beside its event log (through
``transfer.TreeWriter``, whose extraction filter refuses absolute paths and links out of the
destination), and a third removes the scratch directory. This works whether the server closed
cleanly, died, or the run was stopped with Ctrl-C or SIGTERM (both close the runtime); a run
killed with SIGKILL leaves the scratch directory on the host.

Only POSIX ``sh``, ``mktemp`` and ``tar`` are needed on the host, and only when there is code to
ship or an output directory to fill; otherwise the runtime makes no extra ssh call.
"""

from __future__ import annotations

import logging
import select
import shlex
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Optional

from agentexec.errors import AgentexecError, RuntimeStartError
from agentexec.transfer import CHUNK_SIZE, TreeWriter, write_all

log = logging.getLogger("agentexec.runtimes.ssh")

#: Builds the ssh command line that runs this remote shell text on the host.
SshCommand = Callable[[str], list[str]]

_MAKE = """set -e
root=$(mktemp -d "${TMPDIR:-/tmp}/agentexec-XXXXXXXX")
mkdir "$root/code" "$root/out"
if [ "$1" = ship ]; then tar -xf - -C "$root/code" || { rm -rf "$root"; exit 1; }; fi
printf '%s\\n' "$root"
"""
_FETCH = """cd "$1/out" || exit 1
if [ -z "$(ls -A)" ]; then exit 0; fi
exec tar -cf - .
"""


def _sh(script: str, *args: str) -> str:
    """Remote shell text that runs ``script`` with POSIX sh, whatever the user's login shell is."""
    return shlex.join(["sh", "-c", script, "sh", *args])


def make_scratch(ssh: SshCommand, code: Optional[Path], timeout: float) -> str:
    """Create the scratch directory (shipping ``code``, a module file or a package directory, into
    its ``code/``); its absolute path on the host. Raises ``RuntimeStartError`` with ssh's last word."""
    command = ssh(_sh(_MAKE, "ship" if code is not None else "none"))
    with tempfile.TemporaryFile() as archive:  # code is small; a file lets ssh read it at its own pace
        if code is not None:
            _pack(code, archive)
            archive.seek(0)
        try:
            done = subprocess.run(
                command,
                stdin=archive if code is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeStartError(f"no answer within {timeout:g} s") from None
    out, err = done.stdout, done.stderr
    root = out.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not root.startswith("/") or "/agentexec-" not in root:
        said = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        raise RuntimeStartError(f"exit status {done.returncode}: {said[-1] if said else 'no error output'}")
    return root


def _pack(code: Path, sink: IO[bytes]) -> None:
    """``code`` as a tar stream (under its own name, byte-code caches left out) written to ``sink``."""

    def no_caches(info: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
        return None if "__pycache__" in Path(info.name).parts else info

    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.add(code, arcname=code.name, filter=no_caches)


def fetch_outputs(ssh: SshCommand, root: str, local: Path, idle_timeout: float) -> bool:
    """Stream the scratch directory's ``out/`` into ``local`` (created only when there is something
    to bring back); True when everything arrived. ``idle_timeout`` bounds a silent connection."""
    process = subprocess.Popen(
        ssh(_sh(_FETCH, root)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        chunks = _chunks(process.stdout, idle_timeout)
        first = next(chunks, b"")
        if first:
            write_all(_prepend(first, chunks), TreeWriter(local))
        process.wait(timeout=idle_timeout)
    except (OSError, TimeoutError, subprocess.TimeoutExpired, AgentexecError) as exc:
        process.kill()
        process.wait()
        log.warning("could not bring the outputs back from %s/out: %s", root, exc)
        return False
    finally:
        process.stdout.close()
    err = process.stderr.read().decode("utf-8", "replace").strip()
    process.stderr.close()
    if process.returncode != 0:
        log.warning("could not bring the outputs back from %s/out: exit status %s: %s", root, process.returncode, err)
        return False
    return True


def remove_scratch(ssh: SshCommand, root: str, timeout: float) -> None:
    """Remove the scratch directory from the host; a failure is logged, never raised (it is only tidying)."""
    try:
        done = subprocess.run(
            ssh(_sh('rm -rf "$1"', root)), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("could not remove %s from the ssh host: %s", root, exc)
        return
    if done.returncode != 0:
        log.warning("could not remove %s from the ssh host: %s", root, done.stderr.decode("utf-8", "replace").strip())


def _chunks(stream: IO[bytes], idle_timeout: float) -> Iterator[bytes]:
    """The stream's bytes as they arrive; ``TimeoutError`` when nothing comes for ``idle_timeout`` s."""
    fd = stream.fileno()
    while True:
        ready, _, _ = select.select([fd], [], [], idle_timeout)
        if not ready:
            raise TimeoutError(f"nothing arrived for {idle_timeout:g} s")
        data = stream.read1(CHUNK_SIZE)  # type: ignore[attr-defined]
        if not data:
            return
        yield data


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
