"""The package metadata is what current packaging tools accept without warnings."""

from __future__ import annotations

import sys

from tests.helpers import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_license_is_an_spdx_expression_string() -> None:
    """setuptools warns on every install about a ``license = {text = ...}`` table (PEP 639)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"


def test_the_test_extra_brings_what_offline_plugin_installs_need() -> None:
    """Plugin packages are installed with ``--no-build-isolation``: their build backend must be installed."""
    test_extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    names = {spec.split(">")[0].split("=")[0].strip() for spec in test_extra}
    assert {"setuptools", "wheel"} <= names
