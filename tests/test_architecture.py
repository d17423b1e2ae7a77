"""The shape of the code: imports run one way, no module cycle, nothing grows unreadably long.

The size guard is loose on purpose: code is split by role, never to meet a count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("streams", "devices", "alerts", "dashboards", "config")
# The apps from the bottom up: a module imports its own app and those below it, never
# one above (the data plane imports neither alerts nor dashboards; alerts not dashboards).
APPS = ("streams", "devices", "alerts", "dashboards")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# The data plane in the order of its layers: a module may import its own layer
# and the layers before it, never one after it. Longest prefix wins.
STREAMS_LAYERS = [
    ("streams.messages", 0),
    ("streams.listeners", 0),
    ("streams.publishing", 0),
    ("streams.clock", 0),
    ("streams.metrics", 0),
    ("streams.batches", 0),
    ("streams.netguard", 0),
    ("streams.jsontext", 0),
    ("streams.models", 1),
    ("streams.sources", 2),
    ("streams.access", 3),
    ("streams.access_versions", 3),
    ("streams.auth", 3),
    ("streams.describe", 3),
    ("streams.catalog", 3),
    ("streams.signals", 3),
    ("streams.history", 4),
    ("streams.producer", 5),
    ("streams.fanout", 6),
    ("streams.live", 7),
    ("streams.http", 8),
    ("streams.demo", 9),
    ("streams.admin", 9),
    ("streams.apps", 9),
    ("streams.management", 9),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Return the project modules `path` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            # `from streams.producer import ingest` imports the module streams.producer.ingest.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    files = product_files()
    modules = {module_name(path) for path in files}
    graph = {}
    for path in files:
        name = module_name(path)
        # A package's __init__ is imported on the way to its modules: not an edge of its own.
        graph[name] = {m for m in imports_of(path, modules) if m != name and m not in PACKAGES}
    return graph


def layer(module: str) -> int | None:
    matches = [
        (len(prefix), rank)
        for prefix, rank in STREAMS_LAYERS
        if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1] if matches else None


def app_rank(module: str) -> int | None:
    top = module.partition(".")[0]
    return APPS.index(top) if top in APPS else None


def test_apps_import_only_the_apps_below_them() -> None:
    upward = []
    for module, imported_modules in import_graph().items():
        own = app_rank(module)
        if own is None:
            continue
        for imported in imported_modules:
            rank = app_rank(imported)
            if rank is not None and rank > own:
                upward.append(f"{module} ({APPS[own]}) imports {imported} ({APPS[rank]})")
    assert upward == []


def test_the_data_plane_imports_only_its_own_layer_or_earlier_ones() -> None:
    backwards = []
    for module, imported_modules in import_graph().items():
        own = layer(module)
        if own is None:
            continue
        for imported in imported_modules:
            rank = layer(imported)
            if rank is not None and rank > own:
                backwards.append(f"{module} (layer {own}) imports {imported} (layer {rank})")
    assert backwards == []


def test_every_data_plane_module_has_a_layer() -> None:
    unplaced = [m for m in import_graph() if m.startswith("streams.") and layer(m) is None]
    assert unplaced == []


def test_no_module_cycle() -> None:
    graph = import_graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == 1:
                cycles.append(" -> ".join([*path[path.index(imported) :], imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path.name} is past {MAX_MODULE_LINES} lines"
    long_functions = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long_functions == []


def test_the_migrations_describe_the_models() -> None:
    """A model change without its migration would break the next deployment's `migrate`."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    loader = MigrationLoader(None, ignore_no_migrations=True)
    detector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps))
    changes = detector.changes(graph=loader.graph)
    assert changes == {}, f"models changed without a migration: {sorted(changes)}"
