"""The package is laid out by stage: the verifier stands alone and imports run one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import siting

PACKAGE = Path(siting.__file__).parent
REGISTRY = "siting.model.policies"  # imports every module of its package when imported
ALLOWED = {
    # folium is imported only when a solution is drawn (Solution.explore)
    ("siting.results.solution", "siting.render.explore"),
}


def test_verify_imports_neither_pyomo_nor_the_engine():
    code = ("import sys, siting.verify; print(*sorted({m if m.startswith('siting') else "
            "m.split('.')[0] for m in sys.modules if m.startswith(('pyomo', 'highspy', "
            "'siting.engine'))}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("siting", *path.relative_to(PACKAGE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(tree: ast.AST, names: dict[str, Path]) -> set[str]:
    """Siting modules a module imports anywhere (functions too), except for type checking."""
    found = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node = ast.Module(body=node.orelse, type_ignores=[])
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            # from a.b import c: the submodule a.b.c if there is one, else a.b
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names
                      else node.module for a in node.names}
        found |= imported(node, names)
    return {name for name in found if name in names}


def import_graph() -> dict[str, set[str]]:
    """Edges from each siting module to the siting modules it imports."""
    names = modules()
    graph = {name: imported(ast.parse(path.read_text()), names) for name, path in names.items()}
    graph[REGISTRY] |= {name for name in names if name.startswith(f"{REGISTRY}.")}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """An import circle as a path that ends where it starts, or None."""
    done, path = set(), []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name):], name]
        if name in done:
            return None
        path.append(name)
        for target in sorted(graph[name]):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(name)
        return None

    return next(filter(None, map(visit, sorted(graph))), None)


def test_no_import_circles():
    graph = import_graph()
    for source, target in ALLOWED:
        graph[source].discard(target)
    assert cycle(graph) is None


def test_the_circle_finder_sees_a_circle_and_the_allowed_edges_exist():
    graph = import_graph()
    assert all(target in graph[source] for source, target in ALLOWED)
    assert cycle(graph) is not None
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_a_solve_imports_no_library_it_does_not_use():
    # Pyomo's import hook would bring scipy.stats, integrate and spatial with scipy
    # (siting.sparse drops it); folium comes only with a map, dask only with a cluster
    code = ("import sys; from siting import solve; solve('instances/demo'); print(*sorted("
            "m for m in ('scipy.stats', 'scipy.integrate', 'scipy.spatial', 'folium', 'dask', "
            "'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PACKAGE.parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_scipy_is_imported_through_siting_sparse_alone():
    names = modules()
    users = {name for name, path in names.items()
             if any(isinstance(node, ast.Import | ast.ImportFrom)
                    and "scipy" in ast.unparse(node) for node in ast.walk(ast.parse(
                        path.read_text())))}
    assert users == {"siting.sparse"}
