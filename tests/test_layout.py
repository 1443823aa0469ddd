"""The package's layering: no import circle, and each layer imports only those below it.

Every ``import`` counts, wherever it is written (module level, inside a
function, under ``TYPE_CHECKING``): a circle hidden in a function is still a
circle a reader has to untangle. docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "autonats"

#: Layer of each part of the package -> the parts it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "base": set(),  # errors, _translate, _denials, _version
    "contract": {"base"},
    "observe": {"base", "contract"},
    "runtime": {"base", "contract", "observe"},
    "codegen": {"base", "contract"},
    "breaking": {"base", "contract", "codegen"},
    "top": {
        "base",
        "contract",
        "observe",
        "runtime",
        "codegen",
        "breaking",
        "cli",
        "top",
    },
    "cli": {"base", "contract", "observe", "runtime", "codegen", "breaking", "top"},
}
BASE = {
    "autonats.errors",
    "autonats._translate",
    "autonats._denials",
    "autonats._version",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every autonats module ``name`` imports (a package counts as its __init__)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1]]
                    + ([base] if base else [])
                )
            # ``from pkg import sub`` imports the module pkg.sub; ``from mod
            # import Name`` imports mod.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            # The longest known module the target names (x.y.Name -> x.y).
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer(name: str) -> str:
    if name in BASE:
        return "base"
    parts = name.split(".")
    if len(parts) > 1 and parts[1] in ALLOWED:
        return parts[1]
    return "top"


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def test_every_module_is_in_a_layer() -> None:
    for name in modules():
        assert layer(name) in ALLOWED, name


def test_layers_import_only_what_is_below_them() -> None:
    wrong = []
    for name, targets in graph().items():
        mine = layer(name)
        for target in targets:
            theirs = layer(target)
            # A package's __init__ may re-export its own modules.
            if theirs != mine and theirs not in ALLOWED[mine]:
                wrong.append(f"{name} ({mine}) imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """An import circle in ``edges`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_no_import_circle() -> None:
    circle = find_circle(graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


@pytest.mark.parametrize(
    ("edges", "circle"),
    [
        ({"a": {"b"}, "b": set()}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_find_circle(edges: dict[str, set[str]], circle: list[str] | None) -> None:
    assert find_circle(edges) == circle


def test_imports_are_found_wherever_they_are_written(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import autonats.errors\n"
        "if TYPE_CHECKING:\n"
        "    from autonats.runtime.handler import Handler\n"
        "def f():\n"
        "    from autonats.contract import wire\n"
        "    from . import codec\n",
        encoding="utf-8",
    )
    known = {
        "autonats.errors",
        "autonats.runtime.handler",
        "autonats.contract",
        "autonats.contract.wire",
        "autonats.contract.codec",
    }
    found = imports_of("autonats.contract.mod", source, known)
    assert found == {
        "autonats.errors",
        "autonats.runtime.handler",
        "autonats.contract.wire",
        "autonats.contract.codec",
    }


def test_no_test_imports_a_conftest() -> None:
    """Several folders have a conftest.py: ``from conftest import`` gets whichever
    was imported first, so a test's helpers live in a module of a unique name."""
    tests = Path(__file__).resolve().parent
    offenders = []
    for path in tests.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if "conftest" in names:
                offenders.append(str(path.relative_to(tests)))
    assert not offenders, offenders
