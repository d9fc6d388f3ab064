"""Class paths: the three accepted forms, where modules are found, and errors that say which part failed."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

from agentexec.agents import Agent, ScriptedAgent
from agentexec.config import load_config
from agentexec.errors import ClassLoadError
from agentexec.executors import ActionExecutor, BaseActionExecutor
from agentexec.loading import add_import_paths, instantiate, load_class, registered
from agentexec.runtimes import LocalRuntime, Runtime

_ids = itertools.count()

MIXED = """\
from agentexec.agents import Agent
from agentexec.executors import ActionExecutor


class OpsExecutor(ActionExecutor):
    pass


class OtherExecutor(ActionExecutor):
    pass


class HelperAgent(Agent):
    def step(self, state):
        raise NotImplementedError


class Picky(ActionExecutor):
    def __init__(self, level: int = 1, **kwargs):
        if level > 3:
            raise ValueError(f"level {level} is above 3")
        super().__init__(**kwargs)
"""


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write uniquely named modules into an importable directory; forget them afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(text: str, package: str = "") -> str:
        name = f"loadmod{next(_ids)}"
        directory = tmp_path / package.replace(".", "/")
        directory.mkdir(parents=True, exist_ok=True)
        for parent in [tmp_path / p.replace(".", "/") for p in _prefixes(package)]:
            (parent / "__init__.py").touch()
        (directory / f"{name}.py").write_text(text)
        dotted = f"{package}.{name}" if package else name
        written.append(dotted)
        return dotted

    yield write
    tops = {dotted.split(".")[0] for dotted in written}
    for name in list(sys.modules):
        if name.split(".")[0] in tops:
            del sys.modules[name]


def _prefixes(package: str) -> list[str]:
    parts = package.split(".") if package else []
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def test_colon_and_dotted_forms_resolve_the_same_class(modules) -> None:
    mod = modules(MIXED)
    assert load_class(f"{mod}:OpsExecutor", "executor", BaseActionExecutor).__name__ == "OpsExecutor"
    assert load_class(f"{mod}.OpsExecutor", "executor", BaseActionExecutor).__name__ == "OpsExecutor"


def test_dotted_form_inside_a_package(modules) -> None:
    mod = modules(MIXED, package="pkgx.sub")
    assert mod.startswith("pkgx.sub.")
    assert load_class(f"{mod}.OtherExecutor", "executor", BaseActionExecutor).__name__ == "OtherExecutor"


def test_builtins_are_registered_as_entry_points() -> None:
    """agentexec's own short names come from its entry points, as a plugin's would."""
    assert {"default", "ActionExecutor"} <= set(registered("executor"))
    assert load_class("default", "executor", BaseActionExecutor) is ActionExecutor
    assert load_class("scripted", "agent", Agent) is ScriptedAgent
    assert load_class("local", "runtime", Runtime) is LocalRuntime


def test_module_beside_the_config_file_is_importable(tmp_path: Path) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    name = f"beside{next(_ids)}"
    (conf_dir / f"{name}.py").write_text(MIXED)
    (conf_dir / "agentexec.toml").write_text(f'[core]\nruntime_executor = "{name}:OpsExecutor"\n')
    cfg = load_config(conf_dir / "agentexec.toml", environ={}, cwd=tmp_path)
    with pytest.raises(ClassLoadError, match=f"module '{name}' not found"):
        load_class(cfg.core.runtime_executor, "executor", BaseActionExecutor)
    try:
        add_import_paths([cfg.base_dir])
        assert load_class(cfg.core.runtime_executor, "executor", BaseActionExecutor).__name__ == "OpsExecutor"
    finally:
        sys.path.remove(str(conf_dir))
        sys.modules.pop(name, None)


def test_missing_submodule_names_the_module_searched_for(modules) -> None:
    mod = modules(MIXED, package="pkgy")
    with pytest.raises(ClassLoadError, match=r"module 'pkgy.nothere' not found"):
        load_class("pkgy.nothere:X", "executor", BaseActionExecutor)
    assert load_class(f"{mod}:Picky", "executor", BaseActionExecutor).__name__ == "Picky"


def test_missing_dependency_is_not_reported_as_the_module_missing(modules) -> None:
    mod = modules("import not_installed_dependency_xyz\n")
    with pytest.raises(ClassLoadError) as info:
        load_class(f"{mod}:X", "executor", BaseActionExecutor)
    message = str(info.value)
    assert f"importing '{mod}' failed at " in message and f"{mod}.py:1" in message
    assert "No module named 'not_installed_dependency_xyz'" in message
    assert f"module '{mod}' not found" not in message


def test_missing_attribute_lists_classes_of_the_right_kind(modules) -> None:
    mod = modules(MIXED)
    with pytest.raises(ClassLoadError, match="it defines: ActionExecutor, OpsExecutor, OtherExecutor, Picky$"):
        load_class(f"{mod}:OpExecutor", "executor", BaseActionExecutor)
    with pytest.raises(ClassLoadError, match="it defines: Agent, HelperAgent$"):
        load_class(f"{mod}:Helper", "agent", Agent)


def test_wrong_base_names_the_required_base(modules) -> None:
    mod = modules(MIXED)
    with pytest.raises(ClassLoadError, match=r"is a class deriving from .*ActionExecutor.*not a subclass of .*Agent"):
        load_class(f"{mod}:OpsExecutor", "agent", Agent)


def test_constructor_arguments_checked_against_the_signature(modules, tmp_path: Path) -> None:
    cls = load_class(f"{modules(MIXED)}:Picky", "executor", BaseActionExecutor)
    assert instantiate(cls, {"level": 2, "workspace": tmp_path}, "executor", "[executor]").workspace == tmp_path
    rejected = r"rejected its arguments from \[executor\] at .*loadmod\d+\.py:\d+: level 5 is above 3"
    with pytest.raises(ClassLoadError, match=rejected):
        instantiate(cls, {"level": 5}, "executor", "[executor]")
    with pytest.raises(ClassLoadError, match="unexpected keyword argument 'levle'"):
        instantiate(cls, {"levle": 1}, "executor", "[executor]")
    with pytest.raises(ClassLoadError, match="did you mean 'actions'.*it accepts: actions$"):
        instantiate(ScriptedAgent, {"actoins": []}, "agent", "[agent]")


def test_class_load_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="empty executor class path"):
        load_class("  ", "executor", BaseActionExecutor)
