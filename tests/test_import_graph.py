"""The package's shape: no import cycles (function-level imports included) and small modules.

A cycle hidden in a function body still couples two modules both ways, so every ``import`` in a
module counts, wherever it is written. Only the source is read (with ``ast``), nothing is
imported, so the check is fast and sees imports that a test run never reaches.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "agentexec"
MAX_LINES = 400


def module_name(path: Path) -> str:
    """``agentexec/cli/app.py`` -> ``agentexec.cli.app``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(tree: ast.Module, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The package's modules this one imports, anywhere in its body. Relative imports are resolved;
    ``from a import b`` depends on ``a.b`` when that is a module, else on ``a`` (``b`` is a name
    defined there); ``import a.b.c`` on ``a.b.c`` only (its parents run first, but they are the
    package's plumbing, not a dependency the author chose)."""

    def known(dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        return ".".join(parts) or None

    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(known(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else known(base))
    return {name for name in found if name is not None and name != module}


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    modules = package_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = imported_modules(tree, name, path.name == "__init__.py", set(modules))
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_package_has_no_import_cycles() -> None:
    graph = import_graph()
    cycles = find_cycles(graph)
    described = [
        " <-> ".join(cycle) + ": " + "; ".join(f"{m} imports {sorted(graph[m] & set(cycle))}" for m in cycle)
        for cycle in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n".join(described)


def test_no_module_is_over_400_lines() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in package_modules().items()}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split them by idea): {too_long}"


def test_the_cycle_finder_sees_a_function_level_import() -> None:
    """The checker itself: an import inside a function body closes a cycle as a top-level one does."""
    modules = {"agentexec", "agentexec.a", "agentexec.b", "agentexec.c", "agentexec.x", "agentexec.x.y"}
    first = ast.parse("from agentexec.b import helper\n")
    second = ast.parse("def later():\n    from agentexec import a\n    return a.thing\n")
    graph = {
        "agentexec.a": imported_modules(first, "agentexec.a", False, modules),
        "agentexec.b": imported_modules(second, "agentexec.b", False, modules),
    }
    assert graph == {"agentexec.a": {"agentexec.b"}, "agentexec.b": {"agentexec.a"}}
    assert find_cycles(graph) == [["agentexec.a", "agentexec.b"]]
    assert imported_modules(ast.parse("from ..c import d\n"), "agentexec.x.y", False, modules) == {"agentexec.c"}
    assert imported_modules(ast.parse("from . import c\n"), "agentexec", True, modules) == {"agentexec.c"}
    assert imported_modules(ast.parse("import agentexec.x.y\n"), "agentexec.a", False, modules) == {"agentexec.x.y"}


def test_nothing_below_the_cli_imports_typer_or_rich() -> None:
    """A library user gets no terminal library: only ``agentexec/cli/`` may import typer or rich."""
    offenders = []
    for name, path in package_modules().items():
        if name == "agentexec.cli" or name.startswith("agentexec.cli."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [f"{name} imports {n}" for n in names if n.split(".")[0] in ("typer", "rich")]
    assert not offenders, offenders
