"""Gates on the code's shape: module sizes, and which module may import which.

Read from the source (imports inside functions included), so nothing is run or imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chatapp", "interactions_client")

# A module is read in one sitting: past this many lines, split it by concern.
LINE_BUDGET = 400
# Older modules still over the budget, each at most its size today: they may shrink, never
# grow. Take a module off the list once it is under the budget.
OVER_BUDGET: dict[str, int] = {}
# The modules that receive requests or wire the app together. Everything else is below
# them and never imports them (a view may use a service, never the other way round).
ENTRY = {
    "chatapp.admin",
    "chatapp.apps",
    "chatapp.asgi",
    "chatapp.consumers",
    "chatapp.context_processors",
    "chatapp.daphne_tuning",
    "chatapp.routing",
    "chatapp.sso",
    "chatapp.urls",
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The modules of this repository that `name` imports when it runs, anywhere in its body
    (imports for type checkers only, under `if TYPE_CHECKING:`, run nothing)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = ".".join(filter(None, (base, node.module)))
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if full in MODULES:
                    found.add(full)
                elif target in MODULES:
                    found.add(target)
    found.discard(name)
    return found


def _runtime_nodes(node: ast.AST) -> list[ast.AST]:
    nodes = [node]
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            for other in child.orelse:
                nodes += _runtime_nodes(other)
            continue
        nodes += _runtime_nodes(child)
    return nodes


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _is_entry(name: str) -> bool:
    return name in ENTRY or name.endswith("views")


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_module_stays_within_its_line_budget(name: str) -> None:
    relative = MODULES[name].relative_to(ROOT).as_posix()
    budget = OVER_BUDGET.get(relative, LINE_BUDGET)
    assert _lines(MODULES[name]) <= budget, (
        f"{relative} has {_lines(MODULES[name])} lines (budget {budget}): split it by concern"
    )


def test_the_over_budget_list_only_holds_modules_still_over() -> None:
    for relative in OVER_BUDGET:
        assert _lines(ROOT / relative) > LINE_BUDGET, f"{relative} fits now: take it off the list"


def test_no_module_imports_upward() -> None:
    upward = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        for target in targets
        if (name.startswith("interactions_client") and target.startswith("chatapp"))
        or (_is_entry(target) and not _is_entry(name))
    ]
    assert not upward, "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle() -> None:
    # Depth-first search; a module met again while still on the path closes a circle.
    done: set[str] = set()
    circles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            circles.append(path[path.index(name) :] + [name])
            return
        if name in done:
            return
        for target in sorted(GRAPH[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])
    assert not circles, "\n".join(" -> ".join(circle) for circle in circles)


def test_the_gates_can_fail() -> None:
    # The graph is really read: known arrows are found, including an import in a function.
    assert "chatapp.models" in GRAPH["chatapp.views"]
    assert "chatapp.tool_builtins" in GRAPH["chatapp.tool_process"]  # a function-level import
    assert "interactions_client._client" not in GRAPH["interactions_client._interactions"]
    assert "interactions_client._errors" in GRAPH["interactions_client._client"]
    assert _is_entry("chatapp.share_views") and not _is_entry("chatapp.share_links")
