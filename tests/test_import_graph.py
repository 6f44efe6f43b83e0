"""The package's layering holds: no import cycle among tinycnn's modules.

The graph is built from the source (not from ``sys.modules``), counting every import
statement, those inside functions too: an import hidden in a function is still a
dependency, only a later one. ``from PACKAGE import name`` is an edge to the submodule
``PACKAGE.name`` when there is one, else to the package's ``__init__``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import tinycnn

PACKAGE_DIR = Path(tinycnn.__file__).parent


def module_files() -> dict:
    """Module name -> source file, for every module of the tinycnn package."""
    files = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(["tinycnn", *parts])] = path
    return files


def import_graph(files: dict) -> dict:
    """Module name -> the set of tinycnn modules its import statements name."""
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in files)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in files:
                        targets.add(submodule)
                    elif source in files:
                        targets.add(source)
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    files = module_files()
    assert "tinycnn.kernels.geometry" in files and "tinycnn.models" in files
    assert cycles(import_graph(files)) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def later():\n    from .a import thing\n")
    (package / "c.py").write_text("from .a import b\n")
    files = {f"tinycnn.{p.stem}" if p.stem != "__init__" else "tinycnn": p for p in package.glob("*.py")}
    graph = import_graph(files)
    assert graph["tinycnn.c"] == {"tinycnn.a"}  # no module tinycnn.a.b: a name from a
    assert cycles(graph) == [["tinycnn.a", "tinycnn.b"]]


def test_the_kernels_import_nothing_from_the_engine():
    """The kernel tiers work on arrays alone: no kernel module imports a module outside
    tinycnn.kernels."""
    files = module_files()
    graph = import_graph(files)
    for name, targets in graph.items():
        if name.startswith("tinycnn.kernels"):
            assert {t for t in targets if not t.startswith("tinycnn.kernels")} == set(), name
