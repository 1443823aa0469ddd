"""``compat`` 1.0.0: the older side of every compatible change (compat_new.py)."""

from __future__ import annotations

import enum
from typing import Protocol

import autonats
import msgspec


class Item(msgspec.Struct):
    name: str


class Report(msgspec.Struct):
    total: int


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@autonats.service("compat", version="1.0.0")
class CompatService(Protocol):
    async def greet(self, name: str) -> str: ...

    async def store(self, item: Item) -> int: ...

    async def report(self) -> Report: ...

    async def paint(self, bright: bool) -> Color: ...

    async def check(self, n: int) -> int: ...
