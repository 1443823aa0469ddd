"""Golden case: every supported type, default and parameter kind, and declared errors."""

# Optional and Union are spelled the old way on purpose: the generator must accept them.
# ruff: noqa: UP007, UP045

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import AsyncIterator
from typing import Literal, Optional, Protocol, Union

import autonats

from golden_types import Color, Crate, Item, Level, Note, Order, Point, Span, Tally


class NotFound(autonats.ServiceError):
    """No such key."""

    code = 404
    key: str


class Conflict(autonats.ServiceError):
    """The item is taken."""

    code = 409
    item: Item
    choices: list[Color]
    since: datetime.datetime | None


@autonats.service("kitchen", version="2.1.0-beta.1", metadata={"team": "core"})
class KitchenService(Protocol):
    """Every supported shape."""

    async def scalars(self, s: str, i: int, f: float, b: bool, raw: bytes) -> None: ...

    async def optionals(
        self,
        a: int | None,
        b: Optional[str],
        c: Union[int, str],
        d: Union[int, str, None] = None,
    ) -> str | None: ...

    async def containers(
        self,
        items: list[int],
        pair: tuple[str, int],
        rest: tuple[float, ...],
        unique: set[str],
        frozen: frozenset[int],
        mapping: dict[str, list[int]],
    ) -> dict[str, tuple[int, ...]]: ...

    async def literal(
        self, mode: Literal["a", "b"], n: Literal[1, 2] = 1
    ) -> Literal["ok"]: ...

    async def enums(self, color: Color, level: Level = Level.HIGH) -> list[Color]: ...

    async def times(
        self,
        at: datetime.datetime,
        day: datetime.date,
        clock: datetime.time,
        span: datetime.timedelta,
    ) -> datetime.datetime: ...

    async def ids(
        self, key: uuid.UUID, amount: decimal.Decimal
    ) -> dict[uuid.UUID, decimal.Decimal]: ...

    async def records(
        self, point: Point, span: Span, tally: Tally, item: Item, order: Order
    ) -> tuple[Point, Span]: ...

    async def models(self, item: Item, order: Order) -> tuple[Item, Order]: ...

    async def nested(
        self,
        grid: dict[str, list[Point | None]],
        crates: list[Crate],
        notes: tuple[Note, ...] = (),
        orders: list[Order] | None = None,
    ) -> dict[Color, Crate]: ...

    async def defaults(
        self,
        limit: int = 10,
        ratio: float = 0.5,
        name: str = "name",
        empty: str = "",
        flag: bool = True,
        blob: bytes | None = None,
        color: Color = Color.GREEN,
        level: Level = Level.LOW,
        nothing: str | None = None,
        pair: tuple[int, float] = (1, 2.5),
        tags: frozenset[str] = frozenset(),
    ) -> None: ...

    async def kinds(
        self, a: int, /, b: int, c: int = 3, *, d: int, e: str = "e"
    ) -> int: ...

    async def posonly(self, a: int, b: str = "b", /) -> str: ...

    async def kwonly(self, *, a: int, b: frozenset[str] = frozenset()) -> int: ...

    @autonats.oneway
    async def notify(self, message: str) -> None: ...

    @autonats.oneway(durable=True)
    async def record(self, event: Item) -> None: ...

    @autonats.method(timeout=30, concurrency=1)
    async def slow(self) -> bytes: ...

    @autonats.method(timeout=0.25)
    async def fast(self) -> bool: ...

    def watch(
        self, prefix: str, *, limit: int | None = None
    ) -> AsyncIterator[Item]: ...
