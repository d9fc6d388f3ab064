"""The ``[batch]`` config table and the ``batch`` flags over it, validated in one place.

``agentexec.config`` loads ``[batch]`` (file and ``AGENTEXEC_BATCH_<KEY>`` variables) as plain
values with their sources; this module checks them so that a bad key or value is reported as one
line naming where it was set. Paths set in a config file are relative to that file.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentexec.config import Config
from agentexec.errors import ConfigError


class BatchSettings(BaseModel):
    """Options of ``agentexec batch``; every key is documented in ``config.example.toml``."""

    model_config = ConfigDict(extra="forbid")

    engine: Literal["local", "ray"] = "local"
    workers: Optional[int] = Field(None, ge=1)
    timeout: Optional[float] = Field(None, gt=0)
    out: str = "agentexec-batch"
    address: Optional[str] = None
    #: Seconds to wait for the Ray cluster at ``address`` to answer before giving up.
    connect_timeout: float = Field(30.0, gt=0)
    num_cpus: float = Field(1.0, gt=0)
    py_modules: list[str] = Field(default_factory=list)


BATCH_KEYS = tuple(BatchSettings.model_fields)


def batch_settings(config: Config, flags: dict[str, Any]) -> BatchSettings:
    """``[batch]`` values with the command-line ``flags`` (None means not given) on top."""
    values: dict[str, Any] = {}
    for key, value in config.batch.items():
        source = config.sources.get(f"batch.{key}", "default")
        if key not in BATCH_KEYS:
            match = difflib.get_close_matches(key, BATCH_KEYS, n=1)
            hint = f"; did you mean '{match[0]}'?" if match else ""
            raise ConfigError(f"{source}: unknown key '{key}' in [batch]{hint}; keys are: {', '.join(BATCH_KEYS)}")
        values[key] = _relative_to_file(key, value, source, config.base_dir)
    values.update({key: value for key, value in flags.items() if value is not None})
    try:
        return BatchSettings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        given = "flag --" + key.replace("_", "-") if flags.get(key) is not None else config.sources.get(f"batch.{key}")
        raise ConfigError(f"{given or 'default'}: batch.{key} = {err.get('input')!r}: {err['msg']}") from None


def _relative_to_file(key: str, value: Any, source: str, base: Path) -> Any:
    """``out`` and ``py_modules`` set in a config file are relative to the file's directory."""
    if source.startswith("env") or source == "default":
        base = Path.cwd()
    if key == "out" and isinstance(value, str):
        return str((base / Path(value).expanduser()).resolve())
    if key == "py_modules" and isinstance(value, list):
        return [str((base / Path(p).expanduser()).resolve()) if isinstance(p, str) else p for p in value]
    return value
