"""Imports run one way: no circle among engine/ and rio_app/ modules, lazy ones included.

Every module is parsed with `ast` (nothing is imported), and every import
statement counts: top level, inside functions, under `if TYPE_CHECKING`.
`from engine.x import y` is an edge to `engine.x.y` when that is a module,
otherwise to `engine.x`. A strongly connected component of more than one
module is a circle, and the test names it. The engine must also never import
gradio or the app.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "rio_app")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imported_names(path: Path, module: str) -> list[str]:
    """Every dotted name the module imports, anywhere in its body (absolute form)."""
    is_pkg = path.name == "__init__.py"
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, base] if base else pkg)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return names


def resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that `name` starts with (a.b.C -> a.b)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def build_graph(root: Path = ROOT) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """(module -> modules it imports, module -> raw imported names)."""
    files = module_files(root)
    known = set(files)
    graph, raw = {}, {}
    for module, path in files.items():
        names = imported_names(path, module)
        raw[module] = names
        edges = {resolve(n, known) for n in names} - {None, module}
        graph[module] = edges
    return graph, raw


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    comp.append(member)
                    if member == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def cycle_path(graph: dict[str, set[str]], comp: list[str]) -> str:
    """One concrete loop inside a component, as `a -> b -> a`, to name in the failure."""
    members = set(comp)
    start = comp[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    return " -> ".join([*paths[node], start])
                if child not in paths:
                    paths[child] = [*paths[node], child]
                    nxt.append(child)
        frontier = nxt
    return " <-> ".join(comp)


def test_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycle_path(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_submodule_imports_resolve(tmp_path):
    (tmp_path / "engine" / "sub").mkdir(parents=True)
    (tmp_path / "rio_app").mkdir()
    (tmp_path / "engine" / "__init__.py").write_text("")
    (tmp_path / "engine" / "sub" / "__init__.py").write_text("")
    (tmp_path / "engine" / "sub" / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "engine" / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from engine.sub.a import f\n"
    )
    graph, _ = build_graph(tmp_path)
    assert graph["engine.sub.a"] == {"engine.sub", "engine.sub.b"}
    assert graph["engine.sub.b"] == {"engine.sub.a"}
    assert cycles(graph) == [["engine.sub.a", "engine.sub.b"]]


def test_no_import_cycles():
    graph, _ = build_graph()
    assert len(graph) > 20, "the packages were not found"
    found = [cycle_path(graph, comp) for comp in cycles(graph)]
    assert not found, "import circles:\n  " + "\n  ".join(found)


ROOMS = {"models": 1, "runtimes": 2, "backends": 3}  # the core is 0
ENTRY_POINTS = {"engine.cli": 4, "engine.eval": 4, "engine.__main__": 4}


def rank(module: str) -> int | None:
    """An engine module's room, lower first: core, models, runtimes, backends, entry points."""
    parts = module.split(".")
    if parts[0] != "engine":
        return None
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    return ROOMS.get(parts[1], 0) if len(parts) > 1 else 0


def test_engine_rooms_import_downward_only():
    """The core knows no room; models/ knows only the core; runtimes/ no backend; cli and eval all."""
    graph, _ = build_graph()
    bad = [
        f"{module} -> {dep}"
        for module, deps in sorted(graph.items())
        for dep in sorted(deps)
        if rank(module) is not None and rank(dep) is not None and rank(dep) > rank(module)
    ]
    assert not bad, "imports against the rooms' order:\n  " + "\n  ".join(bad)


def test_engine_never_imports_gradio_or_the_app():
    _, raw = build_graph()
    bad = [
        f"{module} imports {name}"
        for module, names in sorted(raw.items())
        if module.split(".")[0] == "engine"
        for name in names
        if name.split(".")[0] in ("gradio", "rio_app")
    ]
    assert not bad, "\n".join(bad)
