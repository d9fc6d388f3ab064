"""Layered configuration: defaults < config file < ``AGENTEXEC_<SECTION>_<KEY>`` < flags.

``[core]`` is validated against a pydantic model (unknown keys are errors with a did-you-mean);
``[executor]``, ``[agent]`` and ``[runtime]`` are keyword arguments for those classes'
constructors, checked when the classes are built. Every value remembers where it came from, for
``agentexec config``. Relative paths in a config file are relative to that file's directory.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentexec.errors import ConfigError

CONFIG_NAME = "agentexec.toml"
ENV_PREFIX = "AGENTEXEC_"
KWARG_SECTIONS = ("executor", "agent", "runtime")
#: Tables of options for one command (``[batch]``: ``agentexec batch``), which validates its own.
COMMAND_SECTIONS = ("batch",)
SECTIONS = ("core", *KWARG_SECTIONS, *COMMAND_SECTIONS)
PATH_KEYS = ("workspace", "log_dir")


class CoreConfig(BaseModel):
    """The ``[core]`` table: which classes to use and how long a run may go."""

    model_config = ConfigDict(extra="forbid")

    runtime_executor: str = "agentexec.executors:ActionExecutor"
    agent: str = "scripted"
    runtime: str = "local"
    workspace: str = "."
    max_iterations: int = Field(100, ge=1)
    log_dir: str = ".agentexec/runs"
    #: Environment variable names that hold secrets (shell patterns): kept out of ``sandbox``, masked in output.
    secret_env: list[str] = Field(default_factory=lambda: ["*_API_KEY", "*_TOKEN", "*_SECRET", "*PASSWORD*"])
    #: The largest workspace a run stores beside its log at start, for replay and resume (0: none).
    snapshot_max_bytes: int = Field(256 * 1024 * 1024, ge=0)
    snapshot_max_files: int = Field(20_000, ge=0)


CORE_KEYS = tuple(CoreConfig.model_fields)
#: Command-line flags whose names differ from the ``[core]`` key they set.
FLAG_NAMES = {"runtime_executor": "--executor"}


class SourceKind(str, Enum):
    """Where a value came from, by kind; ``Config.sources`` holds the exact place (file and line, variable)."""

    DEFAULT = "default"
    FILE = "file"
    ENV = "env"
    FLAG = "flag"  # a command-line flag, or an argument of connect()
    LOG = "log"  # the config an event log recorded (replay, resume)

    def __str__(self) -> str:
        return self.value


#: Kinds of source that say what the user asked for this time, beating a task file or a log.
EXPLICIT = frozenset({SourceKind.ENV, SourceKind.FLAG})


def flag_overrides(
    *,
    executor: Optional[str] = None,
    agent: Optional[str] = None,
    runtime: Optional[str] = None,
    workspace: Optional[str | Path] = None,
    max_iterations: Optional[int] = None,
) -> dict[str, Any]:
    """The ``section.key`` overrides of the flags every command shares (``None``: not given)."""
    return {
        "core.runtime_executor": executor,
        "core.agent": agent,
        "core.runtime": runtime,
        "core.workspace": str(workspace) if workspace is not None else None,
        "core.max_iterations": max_iterations,
    }


@dataclass
class Config:
    """The effective configuration and the source of every value."""

    core: CoreConfig
    sections: dict[str, dict[str, Any]]
    sources: dict[str, str]
    file: Optional[Path] = None
    base_dir: Path = field(default_factory=Path.cwd)
    kinds: dict[str, SourceKind] = field(default_factory=dict)

    def source_kind(self, key: str) -> SourceKind:
        """What kind of source set ``section.key``."""
        return self.kinds.get(key, SourceKind.DEFAULT)

    def explicit(self, key: str) -> bool:
        """Whether the user set ``section.key`` for this command (a flag or an environment variable)."""
        return self.source_kind(key) in EXPLICIT

    @property
    def executor(self) -> dict[str, Any]:
        return self.sections["executor"]

    @property
    def agent(self) -> dict[str, Any]:
        return self.sections["agent"]

    @property
    def runtime(self) -> dict[str, Any]:
        return self.sections["runtime"]

    @property
    def batch(self) -> dict[str, Any]:
        return self.sections["batch"]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, as written into an event log header."""
        return {"core": self.core.model_dump(), **{name: dict(self.sections[name]) for name in SECTIONS[1:]}}

    def rows(self) -> list[tuple[str, Any, str]]:
        """(``section.key``, value, source) for every effective value."""
        data = self.to_dict()
        return [
            (f"{section}.{key}", value, self.sources.get(f"{section}.{key}", "default"))
            for section in SECTIONS
            for key, value in data[section].items()
        ]


def find_config_file(
    explicit: Optional[str | Path], cwd: Path, environ: Optional[Mapping[str, str]] = None
) -> Optional[Path]:
    """``--config``, else ``./agentexec.toml``, else the user config directory's file."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise ConfigError(f"config file {explicit} not found; check the --config path")
        return path
    local = cwd / CONFIG_NAME
    if local.is_file():
        return local
    environ = os.environ if environ is None else environ
    user_dir = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "agentexec"
    user = user_dir / "config.toml"
    return user if user.is_file() else None


def load_config(
    path: Optional[str | Path] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    *,
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    origin: str = "flag",
) -> Config:
    """Build the effective configuration; ``overrides`` maps ``section.key`` to flag values.

    ``origin`` names where overrides come from in ``agentexec config``: command-line flags by
    default, or for example ``connect()`` arguments.
    """
    cwd = (cwd or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    values: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    sources: dict[str, str] = {}
    kinds: dict[str, SourceKind] = {}
    file = find_config_file(path, cwd, environ)
    base_dir = cwd
    if file is not None:
        base_dir = file.resolve().parent
        _merge_file(file, values, sources)
        kinds.update(dict.fromkeys(sources, SourceKind.FILE))
    for key in _merge_env(environ, values, sources, cwd):
        kinds[key] = SourceKind.ENV
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.partition(".")
        values[section][key] = _absolute(key, value, cwd) if section == "core" else value
        sources[dotted] = f"{origin} {FLAG_NAMES.get(key, '--' + key.replace('_', '-'))}"
        kinds[dotted] = SourceKind.FLAG
    for key in PATH_KEYS:
        if key not in values["core"]:
            values["core"][key] = _absolute(key, CoreConfig.model_fields[key].default, cwd)
    try:
        core = CoreConfig.model_validate(values["core"])
    except ValidationError as exc:
        raise ConfigError(_describe_core_error(exc, sources)) from None
    sections = {name: values[name] for name in SECTIONS[1:]}
    return Config(core=core, sections=sections, sources=sources, file=file, base_dir=base_dir, kinds=kinds)


def _absolute(key: str, value: Any, base: Path) -> Any:
    if key in PATH_KEYS and isinstance(value, str):
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    return value


def _merge_file(file: Path, values: dict[str, dict[str, Any]], sources: dict[str, str]) -> None:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    toml = _toml()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}; fix the syntax at that place") from None
    except RecursionError:  # the parser recurses per nested array or inline table
        raise ConfigError(f"{file}: invalid TOML: values nested too deeply; no agentexec key takes that") from None
    base = file.resolve().parent
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{file}:{_line_of(text, None, section)}: unknown section [{section}]"
                f"{_did_you_mean(section, SECTIONS)}; sections are: {', '.join(SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{file}: '{section}' must be a table ([{section}]), not a value")
        for key, value in table.items():
            where = f"{file}:{_line_of(text, section, key)}"
            if section == "core" and key not in CORE_KEYS:
                raise ConfigError(
                    f"{where}: unknown key '{key}' in [core]{_did_you_mean(key, CORE_KEYS)}; "
                    f"keys are: {', '.join(CORE_KEYS)}"
                )
            values[section][key] = _absolute(key, value, base) if section == "core" else value
            sources[f"{section}.{key}"] = where


def _merge_env(
    environ: Mapping[str, str], values: dict[str, dict[str, Any]], sources: dict[str, str], cwd: Path
) -> list[str]:
    """Apply ``AGENTEXEC_<SECTION>_<KEY>`` variables; the ``section.key`` names they set."""
    merged: list[str] = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in SECTIONS if rest.startswith(s + "_")), None)
        if section is None:
            _check_foreign_variable(name, rest)
            continue
        key = rest[len(section) + 1 :]
        if section == "core" and key not in CORE_KEYS:
            suggestion = difflib.get_close_matches(key, CORE_KEYS, n=1)
            hint = f"; did you mean {ENV_PREFIX}CORE_{suggestion[0].upper()}?" if suggestion else ""
            raise ConfigError(f"environment variable {name}: unknown [core] key '{key}'{hint}")
        # A [core] text value stays text: AGENTEXEC_CORE_WORKSPACE=2024 names a directory, not a number.
        text_key = section == "core" and CoreConfig.model_fields[key].annotation is str
        value = raw if text_key else _parse_env_value(raw)
        values[section][key] = _absolute(key, value, cwd) if section == "core" else value
        sources[f"{section}.{key}"] = f"env {name}"
        merged.append(f"{section}.{key}")
    return merged


def _check_foreign_variable(name: str, rest: str) -> None:
    """Let an ``AGENTEXEC_`` variable that names no section pass (``AGENTEXEC_SESSION`` tags bash's
    processes), unless it is a section misspelled or left without a key: that is a setting lost."""
    word, _, key = rest.partition("_")
    if word in SECTIONS:
        raise ConfigError(
            f"environment variable {name} names section [{word}] but no key; use {ENV_PREFIX}{word.upper()}_<KEY>"
        )
    suggestion = difflib.get_close_matches(word, SECTIONS, n=1, cutoff=0.75)
    if suggestion:
        fixed = (
            f"{ENV_PREFIX}{suggestion[0].upper()}_{key.upper()}"
            if key
            else f"{ENV_PREFIX}{suggestion[0].upper()}_<KEY>"
        )
        raise ConfigError(
            f"environment variable {name}: unknown section '{word}'; did you mean {fixed}? "
            f"sections are: {', '.join(SECTIONS)}"
        )


def _toml() -> Any:
    """The TOML parser, imported when there is TOML to read: a server started with no config file
    and no ``AGENTEXEC_`` variables (every sandbox start) saves the 4 ms its import costs."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def _parse_env_value(raw: str) -> Any:
    """Read an environment value as a TOML value when it is one (``5``, ``true``, ``[1, 2]``)."""
    toml = _toml()
    try:
        return toml.loads(f"value = {raw}")["value"]
    except toml.TOMLDecodeError:
        return raw


def _describe_core_error(exc: ValidationError, sources: dict[str, str]) -> str:
    parts = []
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else "?"
        source = sources.get(f"core.{key}", "default")
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key{_did_you_mean(key, CORE_KEYS)}"
        parts.append(f"{source}: core.{key} = {err.get('input')!r}: {message}")
    return "; ".join(parts)


def _did_you_mean(word: str, options: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, options, n=1)
    return f"; did you mean '{match[0]}'?" if match else ""


def _line_of(text: str, section: Optional[str], key: str) -> int:
    """The line where ``key`` is set (in ``[section]``), for error messages; 1 if not found."""
    current: Optional[str] = None
    key_pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1)
            if section is None and current == key:
                return number
            continue
        if current == section and key_pattern.match(line):
            return number
    return 1
