"""No import circles among the project's own modules (engine, seal_tui, seal_bench).

Every import counts, inside functions too: a deferred import still draws an arrow in the
architecture, and a circle hidden in a function is still a circle. Only imports under
`if TYPE_CHECKING:` are left out, since they never run. An import of `pkg.mod` is an arrow to
`pkg.mod` alone, not to `pkg/__init__.py` that Python also runs: a package's `__init__` that
re-exports its modules is a doorway, not a room. (That the engine never imports the UI is
checked in tests/engine/test_boundaries.py.)"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "seal_tui", "seal_cli", "seal_bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(node: ast.AST):
    """The import statements under `node`, skipping `if TYPE_CHECKING:` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and is_type_checking(child.test):
            for rest in child.orelse:
                yield from import_nodes(ast.Module(body=[rest], type_ignores=[]))
        else:
            yield from import_nodes(child)


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` lands on: itself, or its nearest enclosing package."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the submodule pkg.mod when there is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        found |= {t for t in (resolve(t, modules) for t in targets) if t and t != module}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_project():
    graph = import_graph()
    assert len(graph) > 60
    assert "engine.config" in graph["engine.sessions.session"]
    assert "engine.runtime.protocol" in graph["engine.runtime.local"]


def test_imports_are_resolved_to_modules(tmp_path):
    source = tmp_path / "b.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import c\n"
        "from pkg.d import thing\n"
        "import os\n"
        "if TYPE_CHECKING:\n    from pkg import e\n"
        "def later():\n    from pkg import f\n"
    )
    modules = {name: tmp_path for name in ("pkg", "pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.f")}
    assert imports_of("pkg.b", source, modules) == {"pkg.c", "pkg.d", "pkg.f"}


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    found = circles(import_graph())
    assert found == [], "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def room_of(module: str) -> str | None:
    """The engine room a module lives in: its subpackage (engine/papers/...), or "kernel" for
    the modules every room shares (engine/domain.py, events, vocabulary, atomic, ...)."""
    parts = module.split(".")
    if parts[0] != "engine" or len(parts) < 2:
        return None
    return parts[1] if (ROOT / "engine" / parts[1]).is_dir() else "kernel"


def test_the_engine_rooms_point_one_way():
    """Between rooms the arrows make no circle either, so the engine reads bottom to top:
    kernel, papers, scores, self-edits, config, runtime, store, learning, sessions."""
    rooms: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        if (here := room_of(module)) is not None:
            rooms.setdefault(here, set()).update(r for t in targets if (r := room_of(t)) not in (None, here))
    assert {"kernel", "papers", "selfedits", "learning", "sessions", "runtime", "config"} <= set(rooms)
    found = circles(rooms)
    assert found == [], "circles between engine rooms:\n" + "\n".join(" <-> ".join(c) for c in found)
