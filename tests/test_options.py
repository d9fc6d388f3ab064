"""Constructor options checked against type hints: what ``check_options`` accepts and how it refuses."""

from __future__ import annotations

from typing import Annotated, Optional

import pytest
from annotated_types import Gt

from agentexec.errors import ConfigError
from agentexec.executors.standard import ActionExecutor
from agentexec.options import check_options


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
