"""Implementations of the runtime test services; they record what they saw.

``autonats serve rt_impl:Worker`` serves :class:`Worker` in another process.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import os
import uuid
from pathlib import Path
from typing import Any, Literal

import autonats

from rt_api import Conflict, Gone
from rt_api_nats import RtInnerClient
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

CONFLICT_KEY = uuid.UUID("c89bcdf1-ea4b-4f12-9133-19ea263868ed")
CONFLICT_WHEN = datetime.datetime(2026, 5, 1, 12, 30, tzinfo=datetime.timezone.utc)


class Teapot(autonats.ServiceError):
    """A ServiceError that no interface declares."""

    code = 418
    spout: str


class Echo:
    """rt-echo: returns what it was given (and checks it arrived typed)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    async def ping(self) -> str:
        return "pong"

    async def nothing(self) -> None:
        self.seen.append(("nothing", None))

    async def text(self, v: str) -> str:
        assert isinstance(v, str)
        return v

    async def integer(self, v: int) -> int:
        assert type(v) is int
        return v

    async def real(self, v: float) -> float:
        assert isinstance(v, float)
        return v

    async def flag(self, v: bool) -> bool:
        assert isinstance(v, bool)
        return v

    async def raw(self, v: bytes) -> bytes:
        assert isinstance(v, bytes)
        return v

    async def none(self, v: None) -> None:
        assert v is None

    async def optional(self, v: int | None = None) -> int | None:
        return v

    async def union(self, v: int | str | list[int]) -> int | str | list[int]:
        return v

    async def sequences(
        self,
        items: list[int],
        pair: tuple[str, int],
        many: tuple[float, ...],
        names: set[str],
        frozen: frozenset[int],
    ) -> Seqs:
        assert isinstance(pair, tuple) and isinstance(many, tuple)
        assert isinstance(names, set) and isinstance(frozen, frozenset)
        return Seqs(items, pair, many, names, frozen)

    async def mapping(
        self, by_name: dict[str, list[int]], by_id: dict[int, str]
    ) -> tuple[dict[str, list[int]], dict[int, str]]:
        assert all(type(k) is int for k in by_id)
        return by_name, by_id

    async def literal(
        self, v: Literal["a", "b"], n: Literal[1, 2] = 1
    ) -> tuple[Literal["a", "b"], int]:
        return v, n

    async def enums(self, color: Color, level: Level) -> tuple[Color, Level]:
        assert isinstance(color, Color) and isinstance(level, Level)
        return color, level

    async def times(
        self,
        at: datetime.datetime,
        day: datetime.date,
        clock: datetime.time,
        span: datetime.timedelta,
    ) -> Moment:
        return Moment(at, day, clock, span)

    async def ids(
        self, key: uuid.UUID, amount: decimal.Decimal
    ) -> tuple[uuid.UUID, decimal.Decimal]:
        assert isinstance(key, uuid.UUID) and isinstance(amount, decimal.Decimal)
        return key, amount

    async def box(self, v: Box) -> Box:
        assert isinstance(v, Box)
        return v

    async def meta(self, v: Meta) -> Meta:
        return v

    async def pair(self, v: Pair) -> Pair:
        assert isinstance(v, Pair)
        return v

    async def record(self, v: Record) -> Record:
        assert isinstance(v, Record)
        return v

    async def model(self, v: Model) -> Model:
        assert isinstance(v, Model)
        return v

    async def models(
        self, items: list[Model], by_name: dict[str, Model], maybe: Model | None = None
    ) -> dict[str, Model]:
        merged = {f"item{i}": m for i, m in enumerate(items)}
        merged.update(by_name)
        if maybe is not None:
            merged["maybe"] = maybe
        return merged

    async def nested(self, v: dict[str, list[tuple[Pair, Box | None]]]) -> Nest:
        return Nest(v)

    async def defaults(
        self,
        a: int,
        b: str = "x",
        c: tuple[int, ...] = (1, 2),
        *,
        d: Color = Color.GREEN,
        e: bool,
    ) -> Args:
        return Args(a, b, c, d, e)

    async def keywords(self, *, x: int, y: str = "y") -> str:
        return f"{x}:{y}"

    async def size(self, v: str) -> int:
        return len(v)

    async def repeat(self, v: str, times: int) -> str:
        return v * times

    async def fail(self, kind: str, secret: str = "") -> int:
        if kind == "conflict":
            raise Conflict(
                "already taken",
                key=CONFLICT_KEY,
                when=CONFLICT_WHEN,
                count=3,
                tags=["a", "b"],
            )
        if kind == "gone":
            raise Gone("gone away")
        if kind == "crash":
            raise RuntimeError(secret)
        if kind == "keyerror":
            return {"x": 1}[secret]
        if kind == "teapot":
            raise Teapot("short and stout", spout=secret)
        if kind == "unencodable":
            return object()  # type: ignore[return-value]
        return 0


class Ops:
    """rt-ops: sleeps, hangs and fails on request; counts what happened."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = 0
        self.finished = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.notes: list[str] = []
        self.deadlines: list[float] = []

    async def hang(self, seconds: float = 60.0) -> None:
        self.started += 1
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1

    async def short(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def slow(self, seconds: float) -> int:
        self.started += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.in_flight -= 1
        self.finished += 1
        return self.finished

    async def remaining(self) -> float:
        call = autonats.current_call()
        assert call is not None
        self.deadlines.append(call.deadline)
        return call.deadline - asyncio.get_running_loop().time()

    async def note(self, text: str) -> None:
        self.notes.append(text)

    async def boom(self, text: str) -> None:
        raise RuntimeError(text)


class Inner:
    """rt-inner: records the deadline of each call it serves."""

    def __init__(self) -> None:
        self.deadlines: list[float] = []

    async def observe(self, seconds: float = 0.0) -> float:
        call = autonats.current_call()
        assert call is not None
        self.deadlines.append(call.deadline)
        await asyncio.sleep(seconds)
        return call.deadline - asyncio.get_running_loop().time()


class Outer:
    """rt-outer: calls rt-inner through its generated client while serving."""

    def __init__(self, inner: RtInnerClient) -> None:
        self.inner = inner
        self.deadlines: list[float] = []
        self.errors: list[BaseException] = []

    async def relay(self, seconds: float = 0.0) -> float:
        call = autonats.current_call()
        assert call is not None
        self.deadlines.append(call.deadline)
        try:
            return await self.inner.observe(seconds)
        except Exception as exc:
            self.errors.append(exc)
            raise


class Worker:
    """rt-worker, served by ``autonats serve rt_impl:Worker`` processes."""

    async def pid(self) -> int:
        return os.getpid()

    async def slow(self, seconds: float, marker: str = "") -> int:
        if marker:
            with Path(marker).open("a") as f:
                f.write(f"{os.getpid()}\n")
        await asyncio.sleep(seconds)
        return os.getpid()


class Legacy:
    """rt-legacy."""

    async def pick(
        self, a: int | None, b: int | str = 0
    ) -> tuple[int | None, int | str]:
        return a, b

    async def group(self, boxes: list[Box]) -> dict[str, list[Pair]]:
        out: dict[str, list[Pair]] = {}
        for box in boxes:
            out.setdefault(box.label, []).append(Pair(box.size, ",".join(box.tags)))
        return out

    async def later(self, at: datetime.datetime, days: int = 1) -> datetime.datetime:
        return at + datetime.timedelta(days=days)
