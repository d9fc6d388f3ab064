"""Constructor options checked against type hints: what ``check_options`` accepts and how it refuses."""

from __future__ import annotations

from typing import Annotated, Optional

import pytest
from annotated_types import Gt

from agentexec.errors import ConfigError
from agentexec.executors.construction import RUN_ARGUMENTS as EXECUTOR_RUN_ARGUMENTS
from agentexec.executors.standard import ActionExecutor
from agentexec.options import check_options
from agentexec.runtimes.base import RUN_ARGUMENTS as RUNTIME_RUN_ARGUMENTS
from agentexec.runtimes.docker import DockerRuntime
from agentexec.runtimes.local import LocalRuntime
from agentexec.runtimes.process import ProcessRuntime
from agentexec.runtimes.sandbox import SandboxRuntime
from agentexec.runtimes.ssh import SSHRuntime


class Base:
    def __init__(self, level: Annotated[int, Gt(0)] = 1, name: str = "x") -> None:
        self.level, self.name = level, name


class Child(Base):
    def __init__(self, ratio: Optional[float] = None, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.ratio = ratio


class Open:
    def __init__(self, **anything) -> None:  # type: ignore[no-untyped-def]
        self.anything = anything


def test_good_values_pass_unchanged() -> None:
    options = {"level": 3, "ratio": 0.5, "name": "y"}
    check_options(Child, options, "executor", {})
    assert options == {"level": 3, "ratio": 0.5, "name": "y"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"level": 0}, "executor.level = 0: input should be greater than 0; set it to an integer > 0"),
        ({"level": "abc"}, "executor.level = 'abc': input should be a valid integer"),
        ({"ratio": "many"}, "executor.ratio = 'many': input should be a valid number"),
        ({"levle": 2}, "has no option 'levle'; did you mean 'level'? it accepts: ratio, level, name"),
    ],
)
def test_bad_values_name_key_value_source_and_fix(options: dict, expected: str) -> None:
    sources = {f"executor.{key}": "/p/agentexec.toml:4" for key in options}
    with pytest.raises(ConfigError) as caught:
        check_options(Child, options, "executor", sources)
    message = str(caught.value)
    assert message.startswith("/p/agentexec.toml:4: ") and expected in message and "\n" not in message


def test_a_constructor_keeping_its_own_kwargs_takes_any_key() -> None:
    check_options(Open, {"whatever": object()}, "agent", {})


def test_the_standard_executor_refuses_a_non_positive_timeout() -> None:
    with pytest.raises(ConfigError, match=r"env AGENTEXEC_EXECUTOR_TIMEOUT: executor.timeout = -5: .*> 0"):
        sources = {"executor.timeout": "env AGENTEXEC_EXECUTOR_TIMEOUT"}
        check_options(ActionExecutor, {"timeout": -5}, "executor", sources)
    check_options(ActionExecutor, {"timeout": 5, "no_output_timeout": 2.5, "max_output_chars": 10}, "executor", {})


def _refusal(cls: type, options: dict, section: str, supplied: frozenset[str]) -> str:
    with pytest.raises(ConfigError) as caught:
        check_options(cls, options, section, {}, supplied=supplied)
    return str(caught.value)


@pytest.mark.parametrize("runtime", [SSHRuntime, DockerRuntime, SandboxRuntime, ProcessRuntime, LocalRuntime])
def test_a_runtime_lists_only_the_options_a_user_sets(runtime: type) -> None:
    message = _refusal(runtime, {"no_such_option": 1}, "runtime", RUNTIME_RUN_ARGUMENTS)
    listed = message.rpartition("it accepts: ")[2].split(", ")
    assert not set(listed) & RUNTIME_RUN_ARGUMENTS, listed
    if runtime is not LocalRuntime:
        assert {"restart", "response_timeout", "import_paths"} <= set(listed)
    if runtime is SSHRuntime:
        assert {"host", "port", "ship_code"} <= set(listed)


def test_an_executor_lists_its_options_without_the_runs_workspace_and_env() -> None:
    message = _refusal(ActionExecutor, {"timeuot": 5}, "executor", EXECUTOR_RUN_ARGUMENTS)
    listed = message.rpartition("it accepts: ")[2].split(", ")
    assert "did you mean 'timeout'?" in message and listed[:2] == ["timeout", "no_output_timeout"]
    assert "workspace" not in listed and "env" not in listed and "output_dir" in listed


def test_an_argument_the_run_supplies_is_refused_as_an_option() -> None:
    message = _refusal(SSHRuntime, {"workspace": "/elsewhere"}, "runtime", RUNTIME_RUN_ARGUMENTS)
    assert "runtime.workspace = '/elsewhere': 'workspace' is set by the run, not in [runtime]" in message
    assert "executor" not in message.rpartition("it accepts: ")[2]
