"""The layers import one way: no import cycles (function-level imports included), and the
application layer knows nothing of HTTP, and SQL stays in the modules that own it.

Layers, each importing only those below it: scrapers -> refresh pipeline and store -> catalog
-> application layer (ratecard.service.queries, .pricing, .context) -> HTTP handlers / CLI.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "scrapers")  # folders; installed as ratecard.service and ratecard.scrapers
APPLICATION = ("ratecard.service.context", "ratecard.service.queries", "ratecard.service.pricing")
# The modules that may run SQL: the ledger (db), the reads (history), the changesets, and the refresh
# pipeline's store code. Everything else calls their functions, so a schema change has one place to look.
SQL_HOMES = ("db", "history", "changesets", "refresh", "bootstrap", "curated", "store")
SQL_CALLS = ("execute", "executemany", "executescript", "query")


def modules() -> dict[str, Path]:
    """Every module of the two packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            dotted = f"ratecard.{package}"
            name = dotted if path.stem == "__init__" else f"{dotted}.{path.stem}"
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports anywhere in its file (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def test_every_module_imports():
    for name in modules():
        importlib.import_module(name)


def test_no_import_cycles_including_function_level_imports():
    edges = graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_scrapers_never_import_service():
    edges = graph()
    assert {name: sorted(t for t in targets if t.startswith("ratecard.service"))
            for name, targets in edges.items() if name.startswith("ratecard.scrapers") and any(
                t.startswith("ratecard.service") for t in targets)} == {}


@pytest.mark.parametrize("name", APPLICATION)
def test_the_application_layer_has_no_http_types(name):
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    http = sorted(m for m in imported if m.split(".")[0] in ("litestar", "starlette", "uvicorn")
                  or m.startswith(tuple(f"ratecard.service.{edge}" for edge in
                                        ("routes", "app", "problems", "responses", "cli", "asgi"))))
    assert http == []


def sql_calls(path: Path) -> list[str]:
    """Where a module calls ``.execute``/``.executemany``/``.executescript``/``.query`` with an argument.

    Any argument counts, not only SQL text: a statement built in a variable is SQL all the same.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS and (node.args or node.keywords)]


def test_sql_lives_only_in_its_homes():
    found = [call for name, path in modules().items() if name.startswith("ratecard.service.")
             and name.rsplit(".", 1)[1] not in SQL_HOMES for call in sql_calls(path)]
    assert found == []


def test_the_sql_check_sees_sql():
    # The check above passes vacuously if it finds nothing anywhere: the homes do hold SQL calls.
    homes = modules()
    assert sql_calls(homes["ratecard.service.history"])
    assert sql_calls(homes["ratecard.service.db"])
