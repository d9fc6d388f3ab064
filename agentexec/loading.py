"""Turning a class path or short name into a class, and a class plus keyword arguments into an object.

Accepted forms: ``pkg.mod:Class``, the dotted ``pkg.mod.Class`` that OpenHands accepts, and short
names registered in the entry-point groups ``agentexec.executors``, ``agentexec.agents`` and
``agentexec.runtimes`` (agentexec registers its own built-ins there like any plugin). Every error
names the class path and the part that failed, in one line, as pluggy does for hooks.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
import sysconfig
import traceback
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Optional, TypeVar

from agentexec.errors import ClassLoadError

T = TypeVar("T")
KINDS = ("executor", "agent", "runtime")


def group(kind: str) -> str:
    """The entry-point group of a kind: ``agentexec.executors`` and so on."""
    return f"agentexec.{kind}s"


@cache
def _all_entry_points() -> Any:
    """Every installed entry point: one scan of the installed distributions, which costs ~25 ms."""
    return entry_points()


@cache
def registered(kind: str) -> dict[str, EntryPoint]:
    """Entry points of one kind by name (read once per process)."""
    return {ep.name: ep for ep in _all_entry_points().select(group=group(kind))}


def add_import_paths(paths: Iterable[Path | str]) -> None:
    """Make modules in these directories importable, first come first, as ``python -m`` does for cwd."""
    for path in reversed([str(Path(p).resolve()) for p in paths]):
        if path not in sys.path:
            sys.path.insert(0, path)


def user_code_location(cls: type) -> Optional[Path]:
    """Where ``cls``'s code lives when it is the user's own rather than installed: its top-level
    package's directory, or its module's file (``./ops.py`` next to ``agentexec.toml``).

    None for code in the standard library or site-packages, agentexec's own included: whatever
    runs the class elsewhere (a Ray worker, a container, an ssh host) must have that installed,
    while the user's own code has to be carried there.
    """
    top = sys.modules[cls.__module__.partition(".")[0]]
    file = getattr(top, "__file__", None)
    if top.__name__ == "agentexec" or not file:
        return None
    path = Path(file).resolve()
    roots = {Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    if any(path.is_relative_to(root) for root in roots):
        return None
    package_dirs = getattr(top, "__path__", None)
    return Path(next(iter(package_dirs))).resolve() if package_dirs else path


def split_class_path(spec: str) -> tuple[str, str] | None:
    """``pkg.mod:Cls`` or ``pkg.mod.Cls`` into module and attribute; None for a short name."""
    if ":" in spec:
        module, _, attr = spec.partition(":")
        return module, attr
    if "." in spec:
        module, _, attr = spec.rpartition(".")
        return module, attr
    return None


def load_class(spec: str, kind: str, base: type[T]) -> type[T]:
    """Resolve ``spec`` to a subclass of ``base``; raise ``ClassLoadError`` saying what failed."""
    spec = spec.strip()
    if not spec:
        raise ClassLoadError(f"empty {kind} class path; give 'pkg.module:Class' or a short name")
    parts = split_class_path(spec)
    if parts is None:
        entry = registered(kind).get(spec)
        if entry is None:
            names = sorted(registered(kind))
            hint = difflib.get_close_matches(spec, names, n=1)
            raise ClassLoadError(
                f"unknown {kind} {spec!r}: not a registered short name "
                f"({', '.join(names) or 'none installed'})"
                + (f"; did you mean {hint[0]!r}?" if hint else "")
                + f"; use 'pkg.module:Class', or install the package that provides {spec!r}"
            )
        parts = (entry.module, entry.attr)
    module_name, attr = parts
    if not module_name or not attr:
        raise ClassLoadError(f"{kind} class path {spec!r} is incomplete; the form is 'pkg.module:Class'")
    module = _import(spec, kind, module_name)
    cls = getattr(module, attr, None)
    if cls is None:
        candidates = _classes(module, base) or _classes(module, object)
        close = difflib.get_close_matches(attr, candidates, n=1)
        raise ClassLoadError(
            f"{kind} class path {spec!r}: module {module_name!r} ({_origin(module)}) has no attribute {attr!r}"
            + (f"; did you mean {module_name}:{close[0]}?" if close else "")
            + (f"; it defines: {', '.join(candidates)}" if candidates else "; it defines no classes")
        )
    if not inspect.isclass(cls) or not issubclass(cls, base):
        what = _article(type(cls).__name__) if not inspect.isclass(cls) else f"a class deriving from {_bases(cls)}"
        raise ClassLoadError(
            f"{kind} class path {spec!r} is {what}, not a subclass of "
            f"{base.__module__}.{base.__qualname__}; subclass it"
        )
    return cls


def instantiate(cls: type, kwargs: dict[str, Any], kind: str, where: str) -> Any:
    """Call ``cls(**kwargs)``, checking the arguments against its signature first."""
    name = f"{cls.__module__}:{cls.__qualname__}"
    try:
        signature: Optional[inspect.Signature] = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None  # nothing to check against (a builtin): the call below says what is wrong
    if signature is not None:
        try:
            signature.bind(**kwargs)
        except TypeError as exc:
            raise _rejected(cls, kwargs, kind, where, exc) from None
    try:
        return cls(**kwargs)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):  # passed on through **kwargs to a base class
            raise _rejected(cls, kwargs, kind, where, exc) from None
        raise ClassLoadError(f"{kind} {name} rejected its arguments from {where}{_where(exc)}: {exc}") from None
    except ValueError as exc:
        raise ClassLoadError(f"{kind} {name} rejected its arguments from {where}{_where(exc)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure in a user's constructor (a missing API key, ...)
        raise ClassLoadError(f"{kind} {name} failed to start{_where(exc)}: {type(exc).__name__}: {exc}") from None


def _init_chain(cls: type) -> Iterator[tuple[Any, Optional[list[inspect.Parameter]]]]:
    """Each ``__init__`` a call to ``cls(...)`` reaches, with its parameters (``self`` left out):
    the class's own, then its base's while each hands ``**kwargs`` on; None parameters when a
    signature cannot be read (a builtin), which ends the chain."""
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            yield init, None
            return
        yield init, params
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return


def constructor_parameters(cls: type) -> Iterator[tuple[str, Any]]:
    """(name, type hint) of every keyword ``cls(...)`` takes, following ``**kwargs`` handed to a base
    class's ``__init__``; a hint that cannot be evaluated is left unchecked."""
    seen: set[str] = set()
    for init, params in _init_chain(cls):
        if params is None:
            return
        try:
            hints = inspect.get_annotations(init, eval_str=True)
        except Exception:  # noqa: BLE001 - a forward reference that does not exist at run time
            hints = {}
        for param in params:
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name in seen:
                continue
            seen.add(param.name)
            yield param.name, hints.get(param.name, inspect.Parameter.empty)


def takes_any_keyword(cls: type) -> bool:
    """True when the last ``__init__`` in the chain keeps a ``**kwargs`` for itself (no base takes it),
    or its signature cannot be read: then any keyword may be meant for it."""
    for _, params in _init_chain(cls):
        if params is None:
            return True
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return False
    return True


def accepted_arguments(cls: type) -> list[str]:
    """The keyword arguments ``cls(...)`` takes, following ``**kwargs`` an ``__init__`` hands to its base."""
    return [name for name, _ in constructor_parameters(cls)]


def _rejected(cls: type, kwargs: dict[str, Any], kind: str, where: str, exc: TypeError) -> ClassLoadError:
    accepted = accepted_arguments(cls)
    unknown = [key for key in kwargs if key not in accepted]
    close = difflib.get_close_matches(unknown[0], accepted, n=1) if unknown else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ClassLoadError(
        f"{kind} {cls.__module__}:{cls.__qualname__} rejected its arguments from {where}: {exc}"
        f"{hint}; it accepts: {', '.join(accepted) or 'no arguments'}"
    )


def set_up(obj: Any, kind: str, spec: str) -> None:
    """Call ``obj.setup()``; if it fails, release what it got and raise one line naming the class and place."""
    try:
        obj.setup()
    except Exception as exc:  # noqa: BLE001 - any failure in a user's setup() or on_ready()
        obj.close()
        raise ClassLoadError(f"{kind} {spec!r} failed to set up{_where(exc)}: {type(exc).__name__}: {exc}") from None
    except BaseException:
        obj.close()
        raise


def _import(spec: str, kind: str, module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise ClassLoadError(
                f"{kind} class path {spec!r}: module {exc.name!r} not found "
                f"(searched the current directory, the config file's directory and sys.path); "
                "check the spelling or install the package"
            ) from None
        raise ClassLoadError(
            f"{kind} class path {spec!r}: importing {module_name!r} failed{_where(exc)}: {exc}"
        ) from None
    except SyntaxError as exc:
        raise ClassLoadError(
            f"{kind} class path {spec!r}: syntax error in {exc.filename}:{exc.lineno}: {exc.msg}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any failure while importing user code
        raise ClassLoadError(
            f"{kind} class path {spec!r}: importing {module_name!r} failed{_where(exc)}: {type(exc).__name__}: {exc}"
        ) from None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename and not f.filename.startswith("<frozen")]
    if not user:
        return ""
    frame = user[-1]
    return f" at {frame.filename}:{frame.lineno}"


def _classes(module: Any, base: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, base) and not name.startswith("_")
    )


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeiou" else f"a {noun}"


def _bases(cls: type) -> str:
    return ", ".join(f"{b.__module__}.{b.__qualname__}" for b in cls.__mro__[1:-1]) or "object"


def _origin(module: Any) -> str:
    return getattr(module, "__file__", None) or "built-in"
