"""The importer registry: every trajectory format agentexec reads besides its own log.

An importer is a name, a ``sniff`` (does this parsed document look like mine?), a ``load``
(convert it to our records) and what ``--verify`` can compare against its recordings. agentexec's
own importers are registered in the entry-point group ``agentexec.importers`` like any plugin's,
so a package adds a format by registering an ``Importer`` object there, without touching agentexec.

Sniffs look at shapes that only their tool writes, so the built-ins never claim the same
document and the order they are asked in does not matter. A plugin's importer is asked too; when
it and a built-in both claim a document the plugin wins (it was installed to read that document)
and the run's notes say which other importers also claimed it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Literal

from agentexec.errors import UsageError
from agentexec.replay.imported import ImportedRun
from agentexec.replay.reader import NATIVE

GROUP = "agentexec.importers"
BUILTIN_DISTRIBUTION = "agentexec"

#: What ``--verify`` compares for a format: ``full`` every field of the observation (our own logs);
#: ``portable`` the outcome, a run's exit code and the text of runs, views and messages (what two
#: tools both record); ``output`` only the outcome and the text, for tools that record no exit code.
Comparison = Literal["full", "portable", "output"]


@dataclass(frozen=True)
class Importer:
    """One trajectory format: how to recognise it, how to read it, what a replay can check of it."""

    name: str
    #: What the format is, for the "not a format agentexec reads" message: "an OpenHands trajectory (...)".
    description: str
    #: Called with the parsed JSON document; true when this importer reads it. Must not raise.
    sniff: Callable[[Any], bool]
    #: Called with the file's path and the parsed document; returns the converted run.
    load: Callable[[Path, Any], ImportedRun]
    compares: Comparison = "portable"


@dataclass(frozen=True)
class Registered:
    """An entry of the group: the importer it names, or why it cannot be used."""

    entry: EntryPoint
    importer: Importer | None
    error: str | None

    @property
    def builtin(self) -> bool:
        return self.entry.dist is not None and self.entry.dist.metadata["Name"] == BUILTIN_DISTRIBUTION


def load_entry(entry: EntryPoint) -> Registered:
    """Load one entry point; a broken plugin becomes a reason, never an exception."""
    try:
        value = entry.load()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
        return Registered(entry, None, f"{entry.value} cannot be loaded: {type(exc).__name__}: {exc}")
    if not isinstance(value, Importer):
        kind = type(value).__name__
        return Registered(entry, None, f"{entry.value} is a {kind}, not an agentexec.replay.importers.Importer")
    return Registered(entry, value, None)


@cache
def registered() -> tuple[Registered, ...]:
    """Every entry of the group, loaded once per process, sorted by name."""
    found = sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value))
    return tuple(load_entry(entry) for entry in found)


def usable() -> list[Registered]:
    return [item for item in registered() if item.importer is not None]


def choose(path: Path, data: Any) -> tuple[Importer, list[str]]:
    """The importer that reads ``data``, and notes naming any other that claimed it too."""
    claims = [item for item in usable() if _claims(item, data)]
    if not claims:
        raise UsageError(f"{path}: {unknown_format()}")
    claims.sort(key=lambda item: (item.builtin, item.entry.name))
    chosen = claims[0]
    assert chosen.importer is not None
    notes = []
    if len(claims) > 1:
        others = ", ".join(item.entry.name for item in claims[1:])
        notes.append(f"read as {chosen.entry.name}; importers {others} also claim this file")
    return chosen.importer, notes


def _claims(item: Registered, data: Any) -> bool:
    assert item.importer is not None
    try:
        return bool(item.importer.sniff(data))
    except Exception:  # noqa: BLE001 - a plugin's sniff that fails on a foreign shape is not a claim
        return False


def comparison(fmt: str) -> Comparison:
    """What ``--verify`` compares for recordings of ``fmt``; an unknown format gets the portable view."""
    if fmt == NATIVE:
        return "full"
    for item in usable():
        if item.importer is not None and item.importer.name == fmt:
            return item.importer.compares
    return "portable"


def unknown_format() -> str:
    """The sentence for a file no importer reads, listing what would be read and any broken plugin."""
    kinds = [item.importer.description for item in usable() if item.importer is not None]
    message = "not a format agentexec reads: expected an agentexec event log (JSON lines starting with a header)"
    message += "".join(f", {kind}" for kind in kinds)
    broken = [f"{item.entry.name} ({item.error})" for item in registered() if item.error]
    if broken:
        message += "; importers that failed to load: " + "; ".join(broken)
    return message
