"""``agentexec config``: every effective value and where it came from, constructor defaults included.

The ``[executor]``, ``[agent]`` and ``[runtime]`` tables hold only what the user set; a value they
leave out still has an effect, the default of the configured class's constructor (an executor's
``timeout``, ``no_output_timeout``, ...). Those are read from the class and shown with it as
their source, so the listing answers "what will this run use" without reading code.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import typer

from agentexec.config import Config
from agentexec.errors import UsageError
from agentexec.executors.construction import RUN_ARGUMENTS as EXECUTOR_RUN_ARGUMENTS
from agentexec.runtimes.base import RUN_ARGUMENTS as RUNTIME_RUN_ARGUMENTS

#: Constructor arguments a run fills in itself (from ``[core]``, the task and the log's place), so
#: they are not options with a default of their own.
RUN_SUPPLIED: dict[str, frozenset[str]] = {
    "executor": EXECUTOR_RUN_ARGUMENTS,
    "agent": frozenset(),
    "runtime": RUNTIME_RUN_ARGUMENTS,
}
CLASS_KEYS = {"executor": "runtime_executor", "agent": "agent", "runtime": "runtime"}


def config_rows(cfg: Config) -> tuple[list[tuple[str, Any, str]], list[str]]:
    """(key, value, source) of every effective value, section by section, and a note for each class
    that would not load (its defaults cannot be read)."""
    from agentexec.config import SECTIONS

    rows = cfg.rows()
    notes: list[str] = []
    listed: list[tuple[str, Any, str]] = []
    for section in SECTIONS:
        listed += [row for row in rows if row[0].split(".", 1)[0] == section]
        if section == "batch":
            listed += [
                (f"batch.{k}", v, "default of agentexec batch")
                for k, v in batch_defaults().items()
                if k not in cfg.batch
            ]
        if section not in CLASS_KEYS:
            continue
        spec = str(getattr(cfg.core, CLASS_KEYS[section]))
        try:
            defaults = constructor_defaults(cfg, section)
        except UsageError as exc:
            notes.append(f"{section} {spec} did not load, so its defaults are not shown: {exc}")
            continue
        listed += [
            (f"{section}.{name}", value, f"default of {spec}")
            for name, value in defaults.items()
            if name not in cfg.sections[section]
        ]
    return listed, notes


def constructor_defaults(cfg: Config, kind: str) -> dict[str, Any]:
    """The options of the configured ``kind`` class that have a default, and that default."""
    from agentexec.agents.base import Agent
    from agentexec.assembly import prepare_imports
    from agentexec.executors.base import BaseActionExecutor
    from agentexec.loading import constructor_parameters, load_class
    from agentexec.runtimes.base import Runtime

    bases: dict[str, type] = {"executor": BaseActionExecutor, "agent": Agent, "runtime": Runtime}
    prepare_imports(cfg)
    cls: type = load_class(str(getattr(cfg.core, CLASS_KEYS[kind])), kind, bases[kind])
    defaults = {}
    for name, _ in constructor_parameters(cls):
        default = _default(cls, name)
        if name not in RUN_SUPPLIED[kind] and default is not inspect.Parameter.empty:
            defaults[name] = default
    return defaults


def batch_defaults() -> dict[str, Any]:
    """``[batch]``'s defaults (``workers`` None: one worker per CPU)."""
    from agentexec.batch.settings import BatchSettings

    return {name: field.get_default(call_default_factory=True) for name, field in BatchSettings.model_fields.items()}


def _default(cls: type, name: str) -> Any:
    """The default of keyword ``name`` in the first ``__init__`` of ``cls``'s chain that declares it."""
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        parameter = inspect.signature(init).parameters.get(name)
        if parameter is not None:
            return parameter.default
    return inspect.Parameter.empty


def show_config_command(cfg: Config, json_output: bool) -> None:
    rows, notes = config_rows(cfg)
    for note in notes:
        typer.echo(f"agentexec: note: {note}", err=True)
    if json_output:
        values = [{"key": key, "value": _plain(value), "source": source} for key, value, source in rows]
        typer.echo(json.dumps({"file": str(cfg.file) if cfg.file else None, "values": values}, indent=2))
        return
    from agentexec.cli.tables import print_table

    shown = [(key, value if isinstance(value, str) else repr(value), source) for key, value, source in rows]
    print_table(f"config file: {cfg.file or 'none found'}", ("key", "value", "source"), shown)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (a constructor default may be a Path or another object)."""
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value
