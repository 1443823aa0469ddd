"""Interfaces of the runtime behaviour tests (``from __future__ import annotations``).

``rt-echo`` sends every supported type back; ``rt-ops`` misbehaves on request
(hangs, fails, sleeps); ``rt-outer`` calls ``rt-inner`` while serving a call;
``rt-worker`` is served by ``autonats serve`` subprocesses.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Literal, Protocol

import autonats

from rt_types import (
    Args,
    Box,
    Color,
    Level,
    Meta,
    Model,
    Moment,
    Nest,
    Pair,
    Record,
    Seqs,
)


class Conflict(autonats.ServiceError):
    """A declared error with typed fields."""

    code = 409
    key: uuid.UUID
    when: datetime.datetime
    count: int
    tags: list[str]


class Gone(autonats.ServiceError):
    """A declared error without fields."""

    code = 410


@autonats.service("rt-echo", version="1.2.3")
class EchoService(Protocol):
    """Every supported type, there and back."""

    async def ping(self) -> str: ...

    async def nothing(self) -> None: ...

    async def text(self, v: str) -> str: ...

    async def integer(self, v: int) -> int: ...

    async def real(self, v: float) -> float: ...

    async def flag(self, v: bool) -> bool: ...

    async def raw(self, v: bytes) -> bytes: ...

    async def none(self, v: None) -> None: ...

    async def optional(self, v: int | None = None) -> int | None: ...

    async def union(self, v: int | str | list[int]) -> int | str | list[int]: ...

    async def sequences(
        self,
        items: list[int],
        pair: tuple[str, int],
        many: tuple[float, ...],
        names: set[str],
        frozen: frozenset[int],
    ) -> Seqs: ...

    async def mapping(
        self, by_name: dict[str, list[int]], by_id: dict[int, str]
    ) -> tuple[dict[str, list[int]], dict[int, str]]: ...

    async def literal(
        self, v: Literal["a", "b"], n: Literal[1, 2] = 1
    ) -> tuple[Literal["a", "b"], int]: ...

    async def enums(self, color: Color, level: Level) -> tuple[Color, Level]: ...

    async def times(
        self,
        at: datetime.datetime,
        day: datetime.date,
        clock: datetime.time,
        span: datetime.timedelta,
    ) -> Moment: ...

    async def ids(
        self, key: uuid.UUID, amount: decimal.Decimal
    ) -> tuple[uuid.UUID, decimal.Decimal]: ...

    async def box(self, v: Box) -> Box: ...

    async def meta(self, v: Meta) -> Meta: ...

    async def pair(self, v: Pair) -> Pair: ...

    async def record(self, v: Record) -> Record: ...

    async def model(self, v: Model) -> Model: ...

    async def models(
        self, items: list[Model], by_name: dict[str, Model], maybe: Model | None = None
    ) -> dict[str, Model]: ...

    async def nested(self, v: dict[str, list[tuple[Pair, Box | None]]]) -> Nest: ...

    async def defaults(
        self,
        a: int,
        b: str = "x",
        c: tuple[int, ...] = (1, 2),
        *,
        d: Color = Color.GREEN,
        e: bool,
    ) -> Args: ...

    async def keywords(self, *, x: int, y: str = "y") -> str: ...

    async def size(self, v: str) -> int: ...

    async def repeat(self, v: str, times: int) -> str: ...

    async def fail(self, kind: str, secret: str = "") -> int: ...


@autonats.service("rt-ops")
class OpsService(Protocol):
    """Behaviour under load, deadlines and failures."""

    async def hang(self, seconds: float = 60.0) -> None: ...

    @autonats.method(timeout=0.3)
    async def short(self, seconds: float) -> float: ...

    @autonats.method(concurrency=2)
    async def slow(self, seconds: float) -> int: ...

    async def remaining(self) -> float: ...

    @autonats.oneway
    async def note(self, text: str) -> None: ...

    @autonats.oneway
    async def boom(self, text: str) -> None: ...


@autonats.service("rt-inner")
class InnerService(Protocol):
    """Reports the deadline it was given."""

    async def observe(self, seconds: float = 0.0) -> float: ...


@autonats.service("rt-outer")
class OuterService(Protocol):
    """Calls rt-inner while serving a call."""

    async def relay(self, seconds: float = 0.0) -> float: ...


@autonats.service("rt-worker")
class WorkerService(Protocol):
    """Served by separate ``autonats serve`` processes."""

    async def pid(self) -> int: ...

    async def slow(self, seconds: float, marker: str = "") -> int: ...
