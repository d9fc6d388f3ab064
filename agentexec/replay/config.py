"""The configuration a replay runs with: the one the log recorded, with the user's explicit overrides.

A replay must run the recorded executor with the recorded options, so a ``./agentexec.toml``
that happens to sit in the current directory does not apply; only what the user asks for now
does — ``--config FILE``, ``AGENTEXEC_*`` variables and flags, in that order. The log directory
is this machine's, not the recorder's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from agentexec.config import SECTIONS, Config, CoreConfig, SourceKind, load_config
from agentexec.errors import ConfigError
from agentexec.events import describe_validation_error


def recorded_config(recorded: Any, config_file: Optional[Path], flags: dict[str, Any]) -> Config:
    """The header's config with ``--config``, environment and flag values on top."""
    current = load_config(config_file, flags)
    recorded = recorded if isinstance(recorded, dict) else {}
    values = {section: dict(recorded.get(section) or {}) for section in SECTIONS}
    sources = {f"{section}.{key}": "log header" for section in SECTIONS for key in values[section]}
    kinds = dict.fromkeys(sources, SourceKind.LOG)
    for key, value, source in current.rows():
        kind = current.source_kind(key)
        if current.explicit(key) or (config_file is not None and kind is not SourceKind.DEFAULT):
            section, _, name = key.partition(".")
            values[section][name] = value
            sources[key], kinds[key] = source, kind
    values["core"]["log_dir"] = current.core.log_dir
    try:
        core = CoreConfig.model_validate(values["core"])
    except ValidationError as exc:
        raise ConfigError(f"the log's recorded [core] config: {describe_validation_error(exc)}") from None
    return Config(
        core=core,
        sections={name: values[name] for name in SECTIONS if name != "core"},
        sources=sources,
        file=current.file if config_file is not None else None,
        base_dir=current.base_dir,
        kinds=kinds,
    )


def chose_workspace(config: Config) -> bool:
    """Whether the user named a workspace now (flag or environment), rather than the log."""
    return config.explicit("core.workspace")
