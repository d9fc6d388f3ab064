"""Actions that need an optional extra: offered only where the extra's packages are installed.

Also what the extras' actions share: where their files go, and how their text is kept short.

``@action(extra="ipython")`` ties a handler to an entry of ``EXTRAS``. Whether the extra is
there is asked of the import system (``importlib.util.find_spec``) without importing anything,
so an executor whose extras are heavy (a Jupyter kernel, a browser driver) still starts in
milliseconds; the packages are imported the first time the action runs. Where an extra is
missing its actions are left out of the executor's specs (so ``agentexec actions``, tool lists and
the server's ``hello`` do not offer them), and asking for one says what to install.
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class Extra:
    """An optional extra of the ``agentexec`` distribution and the modules it provides."""

    name: str
    modules: tuple[str, ...]

    @property
    def install_hint(self) -> str:
        return f"pip install 'agentexec[{self.name}]'"


#: The extras actions can depend on, by name (the names of ``[project.optional-dependencies]``).
EXTRAS: dict[str, Extra] = {
    "ipython": Extra("ipython", ("jupyter_client", "ipykernel")),
    "browser": Extra("browser", ("playwright",)),
}


def known_extra(name: str) -> Extra:
    """The extra called ``name``; an unknown one is a programming error in the handler's module."""
    try:
        return EXTRAS[name]
    except KeyError:
        raise ValueError(f"unknown extra {name!r}; known extras: {', '.join(EXTRAS)}") from None


@functools.cache
def installed(name: str) -> bool:
    """Whether every module of the extra can be imported (found, not imported)."""
    for module in known_extra(name).modules:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def missing_message(action_name: str, extra_name: str) -> str:
    """The one line an agent or user gets when asking for an action whose extra is not installed."""
    extra = known_extra(extra_name)
    return (
        f"action {action_name!r} needs the {extra.name!r} extra, which is not installed here; "
        f"install it with: {extra.install_hint}"
    )


def outputs_directory(configured: Optional[Path]) -> Path:
    """Where images and screenshots go: the executor's ``output_dir``, else a shared temporary one."""
    return configured if configured is not None else Path(tempfile.gettempdir()) / "agentexec-outputs"


def cut_middle(text: str, limit: int) -> str:
    """``text`` kept within ``limit`` characters: its head and tail around a marker saying how much went."""
    if len(text) <= limit:
        return text
    head = limit // 2
    tail = limit - head
    return f"{text[:head]}\n[... {len(text) - limit} characters cut ...]\n{text[-tail:]}"
