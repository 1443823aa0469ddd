"""``compat`` 1.1.0: compat_old.py with one compatible change per method, and
a new method and a new declared error."""

from __future__ import annotations

import enum
from typing import Protocol

import autonats
import msgspec


class Rejected(autonats.ServiceError):
    """New in 1.1: a declared error an older client does not know."""

    code = 422
    n: int


class Item(msgspec.Struct):
    name: str
    tags: list[str] = []  # new optional field of an argument type


class Report(msgspec.Struct):
    total: int
    average: float = 0.0  # new optional field of a result type


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"  # new member of a result's enum: clients must be updated first


@autonats.service("compat", version="1.1.0")
class CompatService(Protocol):
    # new optional parameter
    async def greet(self, name: str, punctuation: str = "!") -> str: ...

    async def store(self, item: Item) -> int: ...

    async def report(self) -> Report: ...

    async def paint(self, bright: bool) -> Color: ...

    async def check(self, n: int) -> int: ...

    async def ping(self) -> str: ...  # new method
