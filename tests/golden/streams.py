"""Golden case: server streams in every spelling, beside a unary method."""

from __future__ import annotations

import collections.abc
import typing
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

import autonats

from golden_types import Item, Point


class Exhausted(autonats.ServiceError):
    """The feed has nothing more."""

    code = 410
    after: int


@autonats.service("feed", version="1.0.0")
class FeedService(Protocol):
    """Streams of every spelling."""

    def items(self, key: str, *, limit: int | None = None) -> AsyncIterator[Item]: ...

    def numbers(self, start: int = 0) -> AsyncGenerator[int, None]: ...

    def points(self) -> typing.AsyncIterator[Point]: ...

    def nothing(self) -> collections.abc.AsyncIterator[None]: ...

    @autonats.method(timeout=60.0, concurrency=50)
    def slow(
        self, every: float, keys: list[str]
    ) -> AsyncIterator[dict[str, list[int]]]: ...

    async def count(self) -> int: ...


@autonats.service("ticker")
class TickerService(Protocol):
    """One stream of strings."""

    def ticks(self) -> AsyncIterator[str]: ...
