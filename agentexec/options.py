"""Checking an ``[executor]``, ``[agent]`` or ``[runtime]`` table against its class's constructor.

A table is a set of keyword arguments; the constructor's type hints (with any ``Annotated``
constraints, such as ``Field(gt=0)``) say what each may be. Checking them when the configuration is
loaded, before anything starts, turns ``timeout = -5`` or ``AGENTEXEC_EXECUTOR_TIMEOUT=abc`` into one
line naming the key, the value, where it was set and what it must be, instead of a run that "times
out" at once and passes. The check is pydantic's, the same one that validates action arguments.
Values are checked, not converted: the constructor still receives exactly what the user wrote.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from agentexec.errors import ConfigError
from agentexec.loading import constructor_parameters, takes_any_keyword

_ADAPTER_CONFIG = ConfigDict(arbitrary_types_allowed=True)


def check_options(
    cls: type,
    options: Mapping[str, Any],
    section: str,
    sources: Mapping[str, str],
    supplied: Collection[str] = (),
) -> None:
    """Raise ``ConfigError`` for the first key of ``options`` that ``cls(...)`` does not accept or whose
    value does not match its type hint; ``sources`` maps ``section.key`` to where the value was set.

    ``supplied`` names the constructor arguments the run itself passes (a runtime's executor and
    workspace...): they are not options, so they are neither listed as accepted nor settable here.
    """
    parameters = {key: hint for key, hint in constructor_parameters(cls) if key not in supplied}
    open_ended = takes_any_keyword(cls)
    name = f"{cls.__module__}:{cls.__qualname__}"
    for key, value in options.items():
        where = sources.get(f"{section}.{key}", "default")
        accepted = f"it accepts: {', '.join(parameters) or 'no options'}"
        if key in supplied:
            raise ConfigError(
                f"{where}: {section}.{key} = {value!r}: {key!r} is set by the run, not in [{section}]; {accepted}"
            )
        if key not in parameters:
            if open_ended:
                continue
            close = difflib.get_close_matches(key, list(parameters), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{where}: {section}.{key} = {value!r}: {name} has no option {key!r}; {hint}{accepted}")
        annotation = parameters[key]
        if annotation is inspect.Parameter.empty:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(annotation, config=_ADAPTER_CONFIG)
        except Exception:  # noqa: BLE001 - a hint pydantic cannot build a check for: the constructor judges
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            raise ConfigError(
                f"{where}: {section}.{key} = {value!r}: {_reason(exc)}; set it to {_describe(annotation)} ({name})"
            ) from None


def _reason(exc: ValidationError) -> str:
    """pydantic's first complaint, lower-cased to sit inside a sentence."""
    message = str(exc.errors()[0]["msg"])
    return message[:1].lower() + message[1:]


def _describe(annotation: Any) -> str:
    """The JSON-schema view of a type hint, short: ``a number > 0``, ``an integer or null``."""
    try:
        schema = TypeAdapter(annotation, config=_ADAPTER_CONFIG).json_schema()
    except Exception:  # noqa: BLE001 - no schema for an arbitrary class: name it
        return f"a {getattr(annotation, '__name__', annotation)}"
    return _describe_schema(schema)


_TYPE_WORDS = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "boolean": "true or false",
    "null": "unset (leave the key out)",
    "array": "a list",
    "object": "a table",
}
_BOUNDS = {"exclusiveMinimum": ">", "minimum": ">=", "exclusiveMaximum": "<", "maximum": "<="}


def _describe_schema(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe_schema(part) for part in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    words = _TYPE_WORDS.get(str(schema.get("type")), "a value of that type")
    bounds = [f"{sign} {schema[key]:g}" for key, sign in _BOUNDS.items() if key in schema]
    return " ".join([words, *bounds]) if bounds else words


def check_executor_options(executor_path: str, options: Mapping[str, Any], sources: Mapping[str, str]) -> None:
    """Check the ``[executor]`` table here, before any runtime starts, when the executor class can be
    imported here; one importable only where a remote runtime runs it is checked there, when built."""
    from agentexec.errors import ClassLoadError
    from agentexec.executors.base import BaseActionExecutor
    from agentexec.executors.construction import RUN_ARGUMENTS
    from agentexec.loading import load_class

    try:
        cls = load_class(executor_path, "executor", BaseActionExecutor)
    except ClassLoadError:
        return
    check_options(cls, options, "executor", sources, supplied=RUN_ARGUMENTS)
