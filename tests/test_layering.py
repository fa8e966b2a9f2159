"""The import graph stays layered: no package of `gateway` and no module of
`pipelines` imports, directly or round a loop, what imports it.

A cycle means two nouns that are really one, or a shared noun owned by one
of its users (consent once read values through ingestion's normalizers while
ingestion asked consent for decisions). Imports made only for type checking
(`if TYPE_CHECKING:`) are not counted: they never run.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _runtime_imports(tree: ast.AST) -> Iterator[str]:
    """Modules imported by `from x import ...` / `import x`, outside TYPE_CHECKING."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                yield from _runtime_imports(child)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        else:
            yield from _runtime_imports(node)


def _graph(package: str) -> dict[str, set[str]]:
    """Import edges between the units of `package`.

    A unit is a subpackage when the package has any (`gateway`: api,
    consent, ingest, ...; its top-level modules, the composition root
    `context` among them, stand above the layers and are left out), else a
    module (`pipelines`, flat).
    """
    base = ROOT / package
    units = {p.parent.name for p in base.glob("*/__init__.py")} or {
        p.stem for p in base.glob("*.py") if p.stem != "__init__"
    }
    edges: dict[str, set[str]] = {unit: set() for unit in units}
    for path in base.rglob("*.py"):
        source = path.relative_to(base).with_suffix("").parts[0]
        if source not in units:
            continue
        for name in _runtime_imports(ast.parse(path.read_text())):
            pieces = name.split(".")
            inside = pieces[0] == package and len(pieces) > 1
            if inside and pieces[1] in units and pieces[1] != source:
                edges[source].add(pieces[1])
    return edges


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges[start])
    while todo:
        unit = todo.pop()
        if unit not in seen:
            seen.add(unit)
            todo.extend(edges[unit])
    return seen


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The units on an import loop, grouped by loop (each group sorted)."""
    reach = {unit: _reachable(edges, unit) for unit in edges}
    looped = sorted(unit for unit in edges if unit in reach[unit])
    groups = {
        tuple(sorted(u for u in looped if u in reach[v] and v in reach[u]))
        for v in looped
    }
    return sorted(list(group) for group in groups)


@pytest.mark.parametrize("package", ["gateway", "pipelines"])
def test_no_import_cycles(package: str) -> None:
    assert _cycles(_graph(package)) == []


def test_a_planted_cycle_is_found() -> None:
    edges = {"consent": {"ingest"}, "ingest": {"consent", "storage"}, "storage": set()}
    assert _cycles(edges) == [["consent", "ingest"]]


def test_type_checking_imports_do_not_count() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from pipelines.run import RunConfig\n"
        "from pipelines.frames import Levels\n"
    )
    names = set(_runtime_imports(tree))
    assert "pipelines.frames" in names
    assert not any(name.startswith("pipelines.run") for name in names)
