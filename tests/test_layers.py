"""The architecture, checked: forecast/ below planner/, planner's layers importing downwards only,
no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = (
    "base",
    "history",
    "inputs",
    "core",
    "policies",
    "optimizer",
    "run",
    "evaluation",
    "reporting",
    "app",
)


def _imports(path: Path) -> set[str]:
    """Every module a file imports (any depth: lazy imports inside functions count)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[0] == "planner" and parts[1] in LAYERS else None


PLANNER = sorted((ROOT / "planner").rglob("*.py"))


def test_forecast_imports_nothing_from_planner() -> None:
    offenders = {
        str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m == "planner" or m.startswith("planner."))
        for p in sorted((ROOT / "forecast").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("path", PLANNER, ids=lambda p: str(p.relative_to(ROOT)))
def test_planner_imports_point_down(path: Path) -> None:
    """A module of layer k imports planner modules of layers <= k only (LAYERS, bottom first)."""
    here = _layer(_module(path))
    if here is None:
        return
    upward = sorted(m for m in _imports(path) if (_layer(m) or 0) > here)
    assert upward == [], f"{_module(path)} ({LAYERS[here]}) imports {upward}"


def test_every_planner_module_sits_in_a_layer() -> None:
    loose = [
        _module(p)
        for p in PLANNER
        if _layer(_module(p)) is None and _module(p) not in ("planner", "planner.__main__")
    ]
    assert loose == []


def test_no_import_cycles() -> None:
    """Module-level imports between planner and forecast modules form no cycle."""
    graph: dict[str, set[str]] = {}
    known = {_module(p) for d in ("planner", "forecast") for p in (ROOT / d).rglob("*.py")}
    for d in ("planner", "forecast"):
        for p in (ROOT / d).rglob("*.py"):
            tree = ast.parse(p.read_text(encoding="utf-8"))
            top = set()
            for node in tree.body:  # module level only: lazy imports inside functions break cycles on purpose
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    top.add(node.module)
                elif isinstance(node, ast.Import):
                    top.update(a.name for a in node.names)
            graph[_module(p)] = {m for m in top if m in known}
    seen: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if seen.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in seen:
                visit(nxt)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)
