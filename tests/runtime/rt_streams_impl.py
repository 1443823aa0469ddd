"""The implementation of ``rt-feed``: plain async generators that record what
they produced and when their ``finally`` ran.

``autonats serve rt_streams_impl:Feed`` serves it in another process; its
unary methods ``produced`` and ``closed`` report from there.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator

from rt_streams import Exhausted
from rt_types import Record


class Feed:
    """rt-feed. ``made[tag]`` items were produced by generators tagged ``tag``;
    ``ends[tag]`` holds the ``time.monotonic()`` of each one's ``finally``."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        self.ends: dict[str, list[float]] = {}
        self.running: Counter[str] = Counter()
        self.gate = asyncio.Event()  # ``limited`` streams wait for it

    def _end(self, tag: str) -> None:
        self.ends.setdefault(tag, []).append(time.monotonic())
        self.running[tag] -= 1

    async def count(
        self, n: int, fail_at: int = -1, crash_at: int = -1
    ) -> AsyncIterator[int]:
        self.running["count"] += 1
        try:
            for i in range(n):
                if i == fail_at:
                    raise Exhausted(f"exhausted after {i}", after=i)
                if i == crash_at:
                    raise RuntimeError("secret detail: password=hunter2")
                self.made["count"] += 1
                yield i
        finally:
            self._end("count")

    async def endless(self, size: int = 0, tag: str = "") -> AsyncIterator[str]:
        self.running[tag] += 1
        body = "x" * size
        try:
            while True:
                self.made[tag] += 1
                yield body
        finally:
            self._end(tag)

    async def pause(
        self, every: float, n: int = 1_000_000
    ) -> AsyncGenerator[int, None]:
        self.running["pause"] += 1
        try:
            for i in range(n):
                await asyncio.sleep(every)
                self.made["pause"] += 1
                yield i
        finally:
            self._end("pause")

    async def records(self, n: int) -> AsyncIterator[Record]:
        at = datetime.datetime(2026, 5, 1, tzinfo=datetime.timezone.utc)
        for i in range(n):
            yield Record(
                id=uuid.UUID(int=i),
                price=decimal.Decimal(i) / 4,
                at=at + datetime.timedelta(days=i),
            )

    async def limited(self, tag: str) -> AsyncIterator[int]:
        self.running[tag] += 1
        try:
            yield 0
            await self.gate.wait()
            yield 1
        finally:
            self._end(tag)

    async def double(self, x: int) -> int:
        return 2 * x

    async def sleep(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def fail(self, after: int) -> None:
        raise Exhausted(f"exhausted after {after}", after=after)

    async def produced(self, tag: str) -> int:
        return self.made[tag]

    async def closed(self, tag: str) -> int:
        return len(self.ends.get(tag, ()))
