"""``agentexec plugins``: what the entry-point groups hold, where each entry comes from, and whether it loads.

Every entry is loaded the way ``[core]`` short names are (``loading.load_class``), so a plugin that
is listed as loading here also works in a config file. A plugin that fails to import, names a
missing attribute or a class of the wrong kind is reported with the reason and the listing goes
on; so is an entry whose name another distribution also registers (only one of them can win).
"""

from __future__ import annotations

import inspect
import json
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from agentexec.agents.base import Agent
from agentexec.executors.base import BaseActionExecutor
from agentexec.loading import KINDS, group, load_class, registered
from agentexec.replay import importers
from agentexec.replay.importers import Registered
from agentexec.runtimes.base import Runtime

BASES: dict[str, type] = {"executor": BaseActionExecutor, "agent": Agent, "runtime": Runtime}


def describe(kind: str, entry: EntryPoint) -> dict[str, Any]:
    """One entry point: its origin, the file its class lives in, and why it fails to load, if it does."""
    dist = entry.dist
    info: dict[str, Any] = {
        "kind": kind,
        "name": entry.name,
        "class": entry.value,
        "distribution": dist.metadata["Name"] if dist is not None else None,
        "version": dist.version if dist is not None else None,
        "file": None,
        "ok": False,
        "error": None,
    }
    winner = registered(kind).get(entry.name)
    if winner is not None and (winner.value, _dist_name(winner)) != (entry.value, info["distribution"]):
        info["error"] = f"name {entry.name!r} is also registered by {_dist_name(winner)} ({winner.value}), which wins"
        return info
    try:
        cls: type = load_class(f"{entry.module}:{entry.attr}", kind, BASES[kind])
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
        info["error"] = str(exc) if str(exc) else type(exc).__name__
        return info
    module = sys.modules.get(cls.__module__)
    try:
        info["file"] = inspect.getsourcefile(cls)
    except TypeError:
        info["file"] = getattr(module, "__file__", None)
    info["ok"] = True
    return info


def _dist_name(entry: EntryPoint) -> str:
    return entry.dist.metadata["Name"] if entry.dist is not None else "an unknown distribution"


def describe_importer(item: Registered) -> dict[str, Any]:
    """One entry of ``agentexec.importers``: the same fields, the file being the importer's module."""
    dist = item.entry.dist
    module = sys.modules.get(item.entry.module) if item.importer is not None else None
    return {
        "kind": "importer",
        "name": item.entry.name,
        "class": item.entry.value,
        "distribution": dist.metadata["Name"] if dist is not None else None,
        "version": dist.version if dist is not None else None,
        "file": getattr(module, "__file__", None),
        "ok": item.importer is not None,
        "error": item.error,
    }


def collect() -> list[dict[str, Any]]:
    """Every entry of the four groups, executors first, importers last, each group sorted by name."""
    rows = []
    for kind in KINDS:
        for entry in sorted(entry_points(group=group(kind)), key=lambda e: (e.name, e.value)):
            rows.append(describe(kind, entry))
    rows += [describe_importer(item) for item in importers.registered()]
    return rows


def show_plugins(json_output: bool) -> None:
    """Print the listing as a table, or as JSON with ``--json``."""
    from agentexec.loading import add_import_paths

    add_import_paths(["."])  # as for a config's class paths: modules in cwd are importable
    rows = collect()
    if json_output:
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False)
    for kind in (*KINDS, "importer"):
        entries = [row for row in rows if row["kind"] == kind]
        console.print(Text(f"{group(kind)} ({len(entries)})", style="bold"))
        for row in entries:
            origin = f"{row['distribution']} {row['version']}" if row["distribution"] else "unknown distribution"
            line = Text(f"  {row['name']}", style="bold")
            line.append(f"  {row['class']}  from {origin}  ")
            line.append("ok" if row["ok"] else "failed", style="green" if row["ok"] else "bold red")
            console.print(line)
            detail = row["file"] if row["ok"] else row["error"]
            console.print(Text(f"      {detail}", style="dim" if row["ok"] else "red"))
    broken = sum(not row["ok"] for row in rows)
    console.print(f"{len(rows)} entries, {broken} failed to load" if broken else f"{len(rows)} entries, all load")
