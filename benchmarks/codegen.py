"""How long ``autonats generate`` takes for an interface of many methods."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CodegenResult", "interface_source", "time_codegen"]

_HEADER = '''"""A generated interface of {count} methods, for timing the generator."""

from __future__ import annotations

from typing import Protocol

import msgspec

import autonats


class Rec(msgspec.Struct):
    id: int
    name: str
    tags: list[str] = []


@autonats.service("big")
class BigService(Protocol):
    """Many methods of every common shape."""
'''

# Five shapes, cycled: scalars, a record, defaults and keyword-only, oneway, no params.
_SHAPES = (
    "    async def m{i:03d}(self, a: int, b: str = 'x') -> int: ...\n",
    "    async def m{i:03d}(self, rec: Rec) -> Rec: ...\n",
    "    async def m{i:03d}(\n"
    "        self, name: str, limit: int = 10, *, tags: list[str] | None = None\n"
    "    ) -> list[Rec]: ...\n",
    "    @autonats.oneway\n    async def m{i:03d}(self, id: str) -> None: ...\n",
    "    async def m{i:03d}(self) -> dict[str, int]: ...\n",
)


def interface_source(count: int) -> str:
    """The text of an interface module with ``count`` methods."""
    body = "\n".join(_SHAPES[i % len(_SHAPES)].format(i=i) for i in range(count))
    return _HEADER.format(count=count) + "\n" + body


@dataclass
class CodegenResult:
    """Wall-clock seconds of each ``autonats generate`` command (interpreter start included)."""

    methods: int
    seconds: list[float]
    output_lines: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_codegen(methods: int = 200, repeats: int = 3) -> CodegenResult:
    """Generate a ``methods``-method interface ``repeats`` times in a temp dir; time each."""
    times = []
    lines = 0
    with tempfile.TemporaryDirectory(prefix="autonats-codegen-") as folder:
        source = Path(folder) / "big.py"
        source.write_text(interface_source(methods))
        target = Path(folder) / "big_nats.py"
        for _ in range(repeats):
            target.unlink(missing_ok=True)
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "autonats.cli", "generate", str(source)],
                check=True,
                capture_output=True,
                timeout=120,
                cwd=folder,
            )
            times.append(time.perf_counter() - started)
            lines = len(target.read_text().splitlines())
    return CodegenResult(methods, times, lines)
