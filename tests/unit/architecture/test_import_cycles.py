"""No import cycle in the package, function-level imports included (style.md, section 1).

The graph has one node per module of ``src/mibgscore`` and an edge for every import of
another module of the package, wherever it is written: at the top of a module or inside a
function. A package's lazy re-exports (imports inside the ``__getattr__`` of its
``__init__``) run only when a name the package does not define is asked for, so they are
an edge of that request (``from package import name``), not of importing the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
PKG = SRC / "mibgscore"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds at import time (assignments, defs, classes, imports)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _lazy_nodes(tree: ast.Module) -> set[int]:
    """ids of the import statements inside a module-level ``def __getattr__``."""
    out: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            out.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import,
                                                                      ast.ImportFrom)))
    return out


def _string_imports(tree: ast.AST) -> list[str]:
    """Dotted module names given as strings to ``importlib.import_module`` or kept in a
    module-level table of lazy re-exports (``{"name": "mibgscore.x.y"}``)."""
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and n.value.startswith("mibgscore.") and " " not in n.value]


def import_graph() -> dict[str, set[str]]:
    """Module -> modules of the package it imports (``package:lazy`` for lazy re-exports)."""
    trees = {_module_name(p): (p, ast.parse(p.read_text(encoding="utf-8")))
             for p in PKG.rglob("*.py")}
    modules = set(trees)
    bound = {m: _bound_names(t) for m, (_, t) in trees.items()}
    lazy_of = {m: _lazy_nodes(t) for m, (_, t) in trees.items()}
    graph: dict[str, set[str]] = {m: set() for m in modules}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    for mod, (path, tree) in trees.items():
        is_package = path.name == "__init__.py"
        package = mod if is_package else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [resolve(a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found = []
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:
                        found.append(sub)
                    elif base in modules and alias.name not in bound[base] and lazy_of[base]:
                        found.append(f"{base}:lazy")
                    else:
                        found.append(resolve(base))
            else:
                continue
            source = f"{mod}:lazy" if id(node) in lazy_of[mod] else mod
            graph.setdefault(source, set()).update(
                m for m in found if m and m.split(".")[0] == "mibgscore" and m != source)
        if lazy_of[mod]:  # tables of lazy re-exports named by strings (importlib)
            graph.setdefault(f"{mod}:lazy", set()).update(
                r for r in map(resolve, _string_imports(tree)) if r and r != mod)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_function_level_and_lazy_imports():
    graph = import_graph()
    assert "mibgscore.validation.stats" in graph["mibgscore.validation.compare"]
    assert "mibgscore.validation.report" in graph["mibgscore.validation.compare"]  # in a def
    assert "mibgscore.pipeline" in graph["mibgscore:lazy"]
    assert "mibgscore:lazy" not in graph["mibgscore.report.types"]  # __version__ is bound
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package():
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
