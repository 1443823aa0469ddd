"""The interface every contender serves: a small typed record, echoed back.

``autonats generate benchmarks/echo.py`` writes echo_nats.py beside it.
"""

from __future__ import annotations

from typing import Protocol

import autonats
import msgspec


class Item(msgspec.Struct):
    """About 100 bytes as JSON when ``blob`` is empty; ``blob`` pads the larger payloads."""

    id: int
    name: str
    email: str
    active: bool
    score: float
    tags: list[str]
    blob: str = ""


def make_item(size: int) -> Item:
    """An item whose JSON encoding is about ``size`` bytes (at least the bare record)."""
    item = Item(
        id=123456,
        name="Ada Lovelace",
        email="ada@example.com",
        active=True,
        score=97.5,
        tags=["math", "engines"],
    )
    bare = len(msgspec.json.encode(item))
    if size > bare:
        item.blob = "x" * (size - bare)
    return item


@autonats.service("bench", version="1.0.0")
class EchoService(Protocol):
    """Echoes what it is sent."""

    @autonats.method(concurrency=100)
    async def echo(self, item: Item) -> Item: ...

    @autonats.oneway
    @autonats.method(concurrency=100)
    async def notify(self, item: Item) -> None: ...
