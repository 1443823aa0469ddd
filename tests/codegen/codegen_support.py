"""Paths, tool runners and an import sandbox shared by the code-generator tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
PYPROJECT = ROOT / "pyproject.toml"

# case -> keyword arguments of autonats.codegen.generate
CASES: dict[str, dict[str, float]] = {
    "kitchen": {},
    "plain": {},
    "flags": {"timeout": 2.5, "concurrency": 3},
    "long_names": {},
    "streams": {},
    # Regression cases: each once showed a layout or naming bug
    # (see its docstring) and now guards against its return.
    "wrap_literals": {},
    "long_annotation": {},
    "long_call": {},
    "default_quotes": {},
    "shadowing": {},
}


def run(
    *args: str | Path, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its text output."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def autonats(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m autonats.cli ARGS`` in a fresh interpreter."""
    return run(sys.executable, "-m", "autonats.cli", *args, cwd=cwd)


@pytest.fixture
def sandbox() -> Iterator[None]:
    """Undo what importing interface files does to sys.path and sys.modules."""
    path = list(sys.path)
    modules = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            del sys.modules[name]
