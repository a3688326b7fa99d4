"""The layout keeps its shape (issue 14): dependencies point one way (entry point, demo,
operations and bench on `hub`, `hub` on `nodes`, `nodes` on `protocol`), no module imports a
module that imports it back, no SQL outside the store modules, and modules stay small."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OURS = ("protocol", "nodes", "hub", "fengqiao", "demo", "ops", "bench")
# Which of our packages each package may import.
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "nodes": {"protocol"},
    "hub": {"nodes", "protocol"},
    "fengqiao": {"hub", "nodes", "protocol"},
    "demo": {"fengqiao", "hub", "nodes", "protocol"},
    "ops": {"hub", "nodes", "protocol"},
    "bench": {"fengqiao", "hub", "nodes", "protocol"},
}
MAX_LINES = 330  # "about 300"
SQL = re.compile(r"\b(SELECT .* FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")
SQL_HOMES = ("nodes/store/", "hub/store.py", "hub/schema.py", "bench/")


def modules() -> dict[str, Path]:
    found = {}
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """Our modules `path` imports at module level (not inside functions: those are lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports cost nothing at run time
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {name for name in out if name.split(".")[0] in OURS}


def test_dependencies_point_one_way() -> None:
    wrong = []
    for name, path in modules().items():
        package = name.split(".")[0]
        for target in imports(path):
            if target.split(".")[0] not in ALLOWED[package] | {package}:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_import_cycles() -> None:
    known = modules()
    graph = {name: {t for t in imports(path) if t in known and t != name}
             for name, path in known.items()}
    cycles = []

    def visit(node: str, trail: list[str], done: set[str]) -> None:
        if node in trail:
            cycles.append(" -> ".join([*trail[trail.index(node):], node]))
            return
        if node in done:
            return
        for nxt in graph[node]:
            if not nxt.startswith(node + "."):  # a package's __init__ may name its submodules
                visit(nxt, [*trail, node], done)
        done.add(node)

    done: set[str] = set()
    for name in graph:
        visit(name, [], done)
    assert cycles == []


def test_no_sql_outside_the_store_modules() -> None:
    found = [f"{path.relative_to(ROOT)}:{n}" for path in modules().values()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if SQL.search(line) and not str(path.relative_to(ROOT)).startswith(SQL_HOMES)]
    assert found == []


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(ROOT)): n for p in modules().values()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}
