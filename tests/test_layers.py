"""The import rules that keep the layers apart, checked on the source (``ast``), so they hold themselves.

- Library modules and svt-gui import no command module (the modules behind ``svt-live``, ``svt-train``,
  ``svt-gui``): commands are thin layers over the library, never the other way round.
- ``svt_live`` imports neither ``svt_train`` nor ``gui`` (they build on it).
- Inside ``svt_live``, each layer imports only the layers below it (``LAYERS``): notes and events,
  then music theory, input/output formats and devices, the networks, the engine and decoders, the
  sight-singing check, the Python API, the commands.
- No import cycle, lazy imports inside functions included.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("svt_live", "svt_train", "gui")
COMMANDS = {"svt_live.commands.cli", "svt_live.commands.live", "svt_live.commands.exercise",
            "svt_live.commands.playback", "svt_live.commands.entry", "svt_live.__main__", "svt_train.cli",
            "svt_train.entry", "gui.app", "gui.entry"}

# svt_live's layers, bottom up: a module imports only from its own layer or lower ones
LAYERS = {"svt_live.notes": 0, "svt_live.events": 0, "svt_live.theory": 1, "svt_live.evaluate": 1,
          "svt_live.io": 2, "svt_live.console": 2, "svt_live.models": 3, "svt_live.engine": 4, "svt_live.sight": 5,
          "svt_live.api": 6, "svt_live.commands": 7, "svt_live.__main__": 8}


def layer(module: str) -> int | None:
    """The layer of an ``svt_live`` module (``None`` for the package's own ``__init__``)."""
    return next((level for prefix, level in LAYERS.items()
                 if module == prefix or module.startswith(prefix + ".")), None)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str) -> set[str]:
    """The project modules (and module.attribute names) a file imports anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {n for n in found if n.split(".")[0] in PACKAGES}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    return {name: {d for d in imported(path, name) if d in files and d != name} for name, path in files.items()}


def test_the_layout_is_what_the_rules_name():
    graph = import_graph()
    assert COMMANDS <= set(graph), sorted(COMMANDS - set(graph))  # a renamed command module must be named here


def test_no_library_module_or_the_gui_imports_a_command_module():
    bad = {m: sorted(d for d in deps if d in COMMANDS) for m, deps in import_graph().items() if m not in COMMANDS}
    assert not {m: d for m, d in bad.items() if d}


def test_each_svt_live_layer_imports_only_the_layers_below_it():
    graph = import_graph()
    unplaced = [m for m in graph if m.startswith("svt_live.") and layer(m) is None]
    assert not unplaced, f"place these modules in LAYERS: {unplaced}"
    up = {m: sorted(d for d in deps if d.startswith("svt_live.") and layer(d) > layer(m))
          for m, deps in graph.items() if m.startswith("svt_live.")}
    assert not {m: d for m, d in up.items() if d}


def test_svt_live_imports_neither_svt_train_nor_the_gui():
    bad = {m: sorted(d for d in deps if not d.startswith("svt_live")) for m, deps in import_graph().items()
           if m.startswith("svt_live")}
    assert not {m: d for m, d in bad.items() if d}


def test_no_import_cycle():
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            assert cycle is None, " -> ".join(cycle)
