"""The package's shape (docs/architecture.md), read from the source: layers in pipeline order, no import cycles, no
private name imported from another module, and the front door kept small."""

from __future__ import annotations

import ast
from pathlib import Path

import suho

SRC = Path(suho.__file__).parent
# each package may import itself and the ones before it; suho/__init__.py gathers the public API from anywhere
LAYERS = ("paths", "config", "text", "policy", "data", "synth", "model", "train", "guard", "serve", "eval", "cli")


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from suho... import names` in a module, lazy imports included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            if module.split(".")[0] == "suho":
                found.append((module, [a.name for a in node.names]))
    return found


def _edges() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for module, names in _imports(name, path):
            for n in names:
                graph[name].add(f"{module}.{n}" if f"{module}.{n}" in mods else module)
    return graph


def _layer(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def test_each_package_imports_only_itself_and_earlier_layers():
    graph = _edges()
    assert [m for m in graph if _layer(m) not in (*LAYERS, "__init__")] == []  # a new package needs its place
    rank = {layer: i for i, layer in enumerate(LAYERS)} | {"__init__": len(LAYERS)}
    wrong = [(m, o) for m, others in graph.items() for o in others if rank[_layer(o)] > rank[_layer(m)]]
    assert wrong == []


def test_no_import_cycles():
    graph = _edges()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for o in sorted(graph.get(m, ())):
            if state.get(o) == 1:
                cycles.append(path[path.index(o) :] + [o])
            elif o in graph and o not in state:
                visit(o, [*path, o])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_no_private_name_is_imported_from_another_module():
    mods = _modules()
    private = [
        (name, module, n)
        for name, path in mods.items()
        for module, names in _imports(name, path)
        for n in names
        if n.startswith("_") and module != name and f"{module}.{n}" not in mods
    ]
    assert private == []


def test_the_front_door_stays_small():
    assert len((SRC / "guard.py").read_text(encoding="utf-8").splitlines()) <= 200
