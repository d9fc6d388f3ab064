"""Property-based: the config loader reads back any valid value it is given, and any text at all
is either a config or a ``ConfigError`` (one line), never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given
from hypothesis import strategies as st

from agentexec.config import load_config
from agentexec.errors import ConfigError
from tests.test_events_properties import PROPERTY

SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


def load(text: str | bytes, **kwargs):
    with TemporaryDirectory() as directory:
        path = Path(directory) / "agentexec.toml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return load_config(path, environ={}, cwd=Path(directory), **kwargs)


@PROPERTY
@given(st.integers(min_value=1, max_value=2**62), st.lists(SAFE_TEXT, max_size=4), SAFE_TEXT)
def test_valid_values_are_read_back(iterations: int, patterns: list[str], agent_kwarg: str) -> None:
    text = (
        f"[core]\nmax_iterations = {iterations}\nsecret_env = {json.dumps(patterns, ensure_ascii=False)}\n"
        f"[agent]\nnote = {json.dumps(agent_kwarg, ensure_ascii=False)}\n"
    )
    config = load(text)
    assert config.core.max_iterations == iterations
    assert config.core.secret_env == patterns
    assert config.sections["agent"] == {"note": agent_kwarg}


@PROPERTY
@given(st.integers(max_value=0))
def test_max_iterations_below_one_is_refused_naming_the_key(iterations: int) -> None:
    try:
        load(f"[core]\nmax_iterations = {iterations}\n")
    except ConfigError as exc:
        assert "max_iterations" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("accepted")


@PROPERTY
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_file_is_a_config_or_one_config_error(data: bytes) -> None:
    try:
        load(data)
    except ConfigError as exc:
        assert "\n" not in str(exc).strip()
