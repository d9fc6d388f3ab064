"""The executor hierarchy: resources (``RuntimeExecutor``), dispatch (``BaseActionExecutor``).

Only methods marked with ``@action`` are actions, so an action named ``close`` or ``__init__``
never reaches a method. A handler's signature is its argument schema: arguments are validated
against its type hints by a pydantic model built once per handler, and the same model gives the
JSON Schema that ``agentexec actions``, LLM tool lists and the server's ``hello`` all read.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from agentexec.errors import ClassLoadError
from agentexec.events import Action, Observation, as_action, describe_validation_error, error
from agentexec.executors.extras import installed, known_extra, missing_message

ACTION_MARK = "__agentexec_action__"
EXTRA_MARK = "__agentexec_extra__"
F = TypeVar("F", bound=Callable[..., Any])
OutputCallback = Callable[[str], None]


def action(func: F | None = None, *, name: str | None = None, extra: str | None = None) -> Any:
    """Mark a method as an action handler; ``name`` defaults to the method's name.

    ``extra`` names the optional extra (``agentexec.executors.extras.EXTRAS``) the handler needs:
    where it is not installed the action is not offered, and asking for it says what to install.
    """
    if extra is not None:
        known_extra(extra)

    def mark(method: F) -> F:
        setattr(method, ACTION_MARK, name or method.__name__)
        if extra is not None:
            setattr(method, EXTRA_MARK, extra)
        return method

    return mark(func) if func is not None else mark


@dataclass(frozen=True)
class ActionSpec:
    """One action: its name, the method that handles it and its argument model."""

    name: str
    method: str
    description: str
    arguments: type[BaseModel]
    extra: Optional[str] = None

    def schema(self) -> dict[str, Any]:
        """The action as a tool: name, description and JSON Schema of its arguments."""
        return copy.deepcopy(_tool_schema(self))

    def signature(self) -> str:
        """Arguments as ``name: type = default`` text, for error messages and listings."""
        parts = []
        for arg, field in self.arguments.model_fields.items():
            text = f"{arg}: {_type_name(field.annotation)}"
            if not field.is_required():
                text += f" = {field.default!r}"
            parts.append(text)
        return ", ".join(parts)


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


_ARG_DOC = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and per-argument descriptions."""
    description: list[str] = []
    arg_docs: dict[str, str] = {}
    in_args = False
    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            match = _ARG_DOC.match(line)
            if match:
                arg_docs[match.group(1)] = match.group(2).strip()
            elif stripped and not line.startswith((" ", "\t")):
                in_args = False
                description.append(line)
            elif stripped and arg_docs:
                last = next(reversed(arg_docs))
                arg_docs[last] += " " + stripped
            continue
        description.append(line)
    return "\n".join(description).strip(), arg_docs


@functools.cache
def _tool_schema(spec: ActionSpec) -> dict[str, Any]:
    """Generated once per spec: pydantic's schema generation costs milliseconds, and every run asks for tools."""
    parameters = spec.arguments.model_json_schema()
    parameters.pop("title", None)
    for prop in parameters.get("properties", {}).values():
        prop.pop("title", None)
    return {"name": spec.name, "description": spec.description, "parameters": parameters}


@functools.cache  # a subclass reuses the specs of the handlers it inherits
def _build_spec(
    name: str, method_name: str, func: Callable[..., Any], inherited: Optional[ActionSpec] = None
) -> ActionSpec:
    """The spec of one handler; an override without a docstring keeps the documentation it overrides."""
    description, arg_docs = _split_docstring(func.__doc__ or "")
    if inherited is not None and not func.__doc__:
        description = inherited.description
        arg_docs = {arg: f.description for arg, f in inherited.arguments.model_fields.items() if f.description}
    try:
        model = _argument_model(name, func, arg_docs)
    except Exception as exc:  # noqa: BLE001 - a hint that cannot be evaluated or validated
        raise ClassLoadError(
            f"action {name!r} ({func.__module__}.{func.__qualname__}): its signature cannot be checked: "
            f"{type(exc).__name__}: {exc}; use parameter names and type hints that exist at run time"
        ) from None
    extra = getattr(func, EXTRA_MARK, None) or (inherited.extra if inherited is not None else None)
    return ActionSpec(name=name, method=method_name, description=description, arguments=model, extra=extra)


def _argument_model(name: str, func: Callable[..., Any], arg_docs: dict[str, str]) -> type[BaseModel]:
    """A pydantic model of the handler's parameters after ``self``, from their type hints and defaults."""
    hints = inspect.get_annotations(func, eval_str=True)
    fields: dict[str, Any] = {}
    for param in list(inspect.signature(func).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, protected_namespaces=())
    with warnings.catch_warnings():
        # Arguments may be called ``json``, ``copy`` or ``schema``: shadowing BaseModel's methods is harmless here.
        warnings.filterwarnings("ignore", message="Field name .* shadows an attribute", category=UserWarning)
        return create_model(f"{name}_arguments", __config__=config, **fields)


def in_workspace(workspace: Path, path: str | Path) -> Path:
    """``path`` with ``~`` expanded, a relative one taken relative to ``workspace``."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else workspace / candidate


def request_path(executor: Optional[RuntimeExecutor], workspace: Path, path: str | Path) -> Path:
    """A file transfer's path as the executor resolves it (it may override ``resolve``), or, before
    one is built, relative to the workspace it will have: the local runtime and the server alike."""
    return executor.resolve(path) if executor is not None else in_workspace(workspace, path)


class RuntimeExecutor:
    """Owns the resources actions work with: the workspace, its environment, and plugins.

    ``setup()`` prepares resources and then calls ``on_ready()``; ``close()`` releases them.
    Subclasses that add resources extend both and call ``super()``. Nothing here assumes that any
    particular action exists, so any subclass with any set of actions can be set up.
    """

    def __init__(self, workspace: str | Path = ".", env: Optional[dict[str, str]] = None) -> None:
        self.workspace = Path(workspace).expanduser().resolve()
        self.env: dict[str, str] = dict(env or {})
        self._on_output: OutputCallback | None = None

    def setup(self) -> None:
        """Create the workspace, then run ``on_ready()``."""
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.on_ready()

    def on_ready(self) -> None:
        """Hook run once after setup; override it to prepare state your actions need."""

    def interrupt(self) -> None:
        """Stop the running action as Ctrl-C would; called from another thread while ``run_action`` runs.

        Runtimes call it when the user interrupts a run, a server when its client asks. The default
        does nothing, which suits an executor whose actions are short; one that runs long commands
        (``ActionExecutor``'s bash session) overrides it. It must be safe to call when nothing runs.
        """

    def close(self) -> None:
        """Release resources; safe to call more than once."""

    def resolve(self, path: str | Path) -> Path:
        """A path as the agent meant it: relative paths are relative to the workspace."""
        return in_workspace(self.workspace, path)

    def emit(self, text: str) -> None:
        """Stream partial output of the running action to whoever is listening."""
        if self._on_output is not None and text:
            self._on_output(text)

    def __enter__(self) -> RuntimeExecutor:
        self.setup()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class BaseActionExecutor(RuntimeExecutor):
    """Adds dispatch: ``run_action`` routes an action to the ``@action`` handler of its name."""

    @classmethod
    def action_specs(cls) -> dict[str, ActionSpec]:
        """Every action of this class by name (computed once per class), without those whose extra is missing."""
        cached = cls.__dict__.get("_agentexec_specs")
        if cached is not None:
            return cached
        specs = cls._declared_specs()
        missing = {name: spec.extra for name, spec in specs.items() if spec.extra and not installed(spec.extra)}
        cls._agentexec_missing = missing  # type: ignore[attr-defined]
        cls._agentexec_specs = {name: spec for name, spec in specs.items() if name not in missing}  # type: ignore[attr-defined]
        return cls._agentexec_specs  # type: ignore[attr-defined]

    @classmethod
    def missing_extras(cls) -> dict[str, str]:
        """Actions this class declares whose extra is not installed: action name -> extra name."""
        cls.action_specs()
        return dict(cls.__dict__["_agentexec_missing"])

    @classmethod
    def _declared_specs(cls) -> dict[str, ActionSpec]:
        specs: dict[str, ActionSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                name = getattr(value, ACTION_MARK, None)
                if name is None:
                    # An override without @action keeps the action its parent declared.
                    for spec_name, spec in list(specs.items()):
                        if spec.method == attr and callable(value):
                            specs[spec_name] = _build_spec(spec_name, attr, value, inherited=spec)
                    continue
                specs = {k: v for k, v in specs.items() if v.method != attr}
                specs[name] = _build_spec(name, attr, value)
        return dict(sorted(specs.items()))

    @classmethod
    def action_schemas(cls) -> list[dict[str, Any]]:
        """Each action as a tool schema, sorted by name."""
        return [spec.schema() for spec in cls.action_specs().values()]

    def run_action(self, request: Action | dict[str, Any], on_output: OutputCallback | None = None) -> Observation:
        """Perform one action and return its observation; never raises for a bad action.

        An unknown action, bad arguments or an exception in the handler become an ``error``
        observation that says what went wrong, so the agent can correct itself and the loop goes
        on. ``KeyboardInterrupt`` is not caught: an interrupt belongs to whoever runs the loop.
        """
        try:
            act = as_action(request)
        except ValueError as exc:
            return error(str(exc))
        specs = self.action_specs()
        spec = specs.get(act.action)
        if spec is None:
            extra = self.missing_extras().get(act.action)
            if extra is not None:
                return error(missing_message(act.action, extra), missing_extra=extra)
            return error(f"unknown action {act.action!r}; this executor handles: {', '.join(specs)}")
        try:
            arguments = spec.arguments.model_validate(act.args)
        except ValidationError as exc:
            return error(
                f"bad arguments for action {act.action!r}: {describe_validation_error(exc)}; "
                f"it accepts ({spec.signature()})"
            )
        handler = getattr(self, spec.method)
        self._on_output = on_output
        started = time.monotonic()
        try:
            result = handler(**dict(arguments))
        except Exception as exc:  # noqa: BLE001 - a failing handler must not end the loop
            return error(
                f"action {act.action!r} failed: {type(exc).__name__}: {exc}",
                exception=type(exc).__name__,
                traceback=traceback.format_exc(limit=-8),
            )
        finally:
            self._on_output = None
        if not isinstance(result, Observation):
            result = Observation(observation=act.action, content="" if result is None else str(result))
        result.extras.setdefault("duration", round(time.monotonic() - started, 6))
        return result
