"""``agentexec plugins`` in a venv where a real package registers good and broken entry points."""

from __future__ import annotations

import json
from pathlib import Path

from tests.venv_helper import agentexec, make_venv, pip_install

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "agentexec-demo-plugins"
version = "0.3.0"

[tool.setuptools]
py-modules = ["demo_plugins", "demo_explode"]

[project.entry-points."agentexec.executors"]
demo = "demo_plugins:DemoExecutor"
missing = "demo_plugins_missing:Thing"
explodes = "demo_explode:Thing"

[project.entry-points."agentexec.agents"]
demo = "demo_plugins:DemoAgent"
scripted = "demo_plugins:DemoAgent"

[project.entry-points."agentexec.runtimes"]
wrongkind = "demo_plugins:DemoAgent"
noattr = "demo_plugins:NoSuchRuntime"
"""

MODULE = '''
from agentexec.agents import Agent
from agentexec.events import Action
from agentexec.executors import ActionExecutor, action


class DemoExecutor(ActionExecutor):
    @action
    def hello(self, name: str) -> str:
        """Greet someone."""
        return f"hello {name}"


class DemoAgent(Agent):
    def step(self, state):
        return Action(action="finish")
'''


def test_plugins_lists_good_and_broken_entries(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "pyproject.toml").write_text(PYPROJECT)
    (package / "demo_plugins.py").write_text(MODULE)
    (package / "demo_explode.py").write_text("raise RuntimeError('boom at import')\n")
    python = make_venv(tmp_path / "venv")
    pip_install(python, package)

    result = agentexec(python, "plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {(row["kind"], row["name"], row["distribution"]): row for row in json.loads(result.stdout)}
    demo = rows[("executor", "demo", "agentexec-demo-plugins")]
    assert demo["ok"] and demo["version"] == "0.3.0" and demo["class"] == "demo_plugins:DemoExecutor"
    assert demo["file"].startswith(str(tmp_path / "venv")) and demo["file"].endswith("demo_plugins.py")
    assert rows[("agent", "demo", "agentexec-demo-plugins")]["ok"]
    assert rows[("executor", "default", "agentexec")]["ok"]  # the built-ins are listed the same way
    errors = {name: row["error"] for (_kind, name, dist), row in rows.items() if dist == "agentexec-demo-plugins"}
    assert "module 'demo_plugins_missing' not found" in errors["missing"]
    assert "RuntimeError: boom at import" in errors["explodes"]
    assert "not a subclass of agentexec.runtimes.base.Runtime" in errors["wrongkind"]
    assert "has no attribute 'NoSuchRuntime'" in errors["noattr"]
    scripted = [row for (kind, name, _dist), row in rows.items() if (kind, name) == ("agent", "scripted")]
    assert len(scripted) == 2 and sum("is also registered by" in (row["error"] or "") for row in scripted) == 1

    table = agentexec(python, "plugins", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "demo  demo_plugins:DemoExecutor  from agentexec-demo-plugins 0.3.0  ok" in table.stdout
    assert "failed to load" in table.stdout and "Traceback" not in table.stdout + table.stderr

    actions = agentexec(python, "actions", "--executor", "demo", "--json", cwd=tmp_path)
    assert "hello" in [schema["name"] for schema in json.loads(actions.stdout)]
