"""Python implementations of the TypeScript test contract (ts_api.py).

Each records the methods called, so the test can tell that the Node program
called every one of them.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import itertools
from collections.abc import AsyncIterator
from typing import Any

import autonats

from ts_api import Conflict, Gone, NotFound, Progress
from ts_models import Address, Color, Everything, Level, Tick, Tree


class Recorder:
    """Remembers the name of every method called on it."""

    def __init__(self) -> None:
        self.called: set[str] = set()

    def mark(self, name: str) -> None:
        self.called.add(name)


class Values(Recorder):
    async def echo(self, value: Everything) -> Everything:
        self.mark("echo")
        return value

    async def echo_text(self, text: str) -> str:
        self.mark("echo_text")
        return text

    async def echo_int(self, n: int) -> int:
        self.mark("echo_int")
        return n

    async def echo_float(self, x: float) -> float:
        self.mark("echo_float")
        return x

    async def echo_tree(self, tree: Tree) -> Tree:
        self.mark("echo_tree")
        return tree

    async def big(self) -> int:
        self.mark("big")
        return 2**63

    async def add(self, values: list[decimal.Decimal]) -> decimal.Decimal:
        self.mark("add")
        return sum(values, decimal.Decimal(0))

    async def shift(
        self, at: datetime.datetime, by: datetime.timedelta
    ) -> datetime.datetime:
        self.mark("shift")
        return at + by

    async def defaults(
        self,
        a: int,
        b: str = "b",
        *,
        color: Color = Color.GREEN,
        level: Level | None = None,
        required: bool,
    ) -> dict[str, Any]:
        self.mark("defaults")
        return {"a": a, "b": b, "color": color, "level": level, "required": required}


class Behave(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def find(self, key: str) -> str:
        self.mark("find")
        if key != "known":
            raise NotFound(f"no value has the key {key}", key=key)
        return "found"

    async def claim(self, key: str) -> None:
        self.mark("claim")
        raise Conflict(
            f"{key} is taken",
            key=key,
            owner=Address("Main St 1", "Utrecht"),
            since=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            name="ada",
        )

    async def gone(self) -> None:
        self.mark("gone")
        raise Gone("it went away")

    async def fail(self) -> None:
        self.mark("fail")
        raise RuntimeError("secret detail that must not reach the caller")

    async def sleep(self, seconds: float) -> float:
        self.mark("sleep")
        await asyncio.sleep(seconds)
        return seconds

    async def seen(self) -> dict[str, str]:
        self.mark("seen")
        call = autonats.current_call()
        return dict(call.headers) if call is not None else {}

    async def notify(self, key: str) -> None:
        self.mark("notify")
        self.keys.append(key)

    async def record(self, key: str) -> None:
        self.mark("record")
        self.keys.append(key)

    async def notified(self) -> list[str]:
        self.mark("notified")
        return list(self.keys)

    async def quick(self) -> str:
        self.mark("quick")
        return "quick"


class Streams(Recorder):
    """Records, per key, what each stream's generator did."""

    def __init__(self) -> None:
        super().__init__()
        self.streams: dict[str, Progress] = {}

    def _begin(self, key: str) -> Progress:
        progress = self.streams[key] = Progress(produced=0, closed=False, how="")
        return progress

    async def count(self, key: str, n: int, fail_after: int = -1) -> AsyncIterator[int]:
        self.mark("count")
        progress = self._begin(key)
        try:
            for i in range(n):
                if i == fail_after:
                    progress.how = "failed"
                    raise NotFound(f"no item {i}", key=str(i))
                progress.produced += 1
                yield i
            progress.how = "exhausted"
        except GeneratorExit:
            progress.how = "stopped"
            raise
        finally:
            progress.closed = True

    async def ticks(
        self, key: str, every: float = 0.0, first: int = 0
    ) -> AsyncIterator[Tick]:
        self.mark("ticks")
        progress = self._begin(key)
        try:
            for n in itertools.count():
                if n >= first and every:
                    await asyncio.sleep(every)
                progress.produced += 1
                yield Tick(key, n)
        except (GeneratorExit, asyncio.CancelledError):
            progress.how = "stopped"
            raise
        finally:
            progress.closed = True

    async def nothing(self, key: str) -> AsyncIterator[None]:
        self.mark("nothing")
        progress = self._begin(key)
        for _ in range(3):
            progress.produced += 1
            yield None
        progress.how = "exhausted"
        progress.closed = True

    async def progress(self, key: str) -> Progress:
        self.mark("progress")
        return self.streams.get(key, Progress(produced=0, closed=False, how=""))


class Busy(Recorder):
    async def hold(self, ms: int) -> int:
        self.mark("hold")
        await asyncio.sleep(ms / 1000)
        return ms

    async def held(self) -> AsyncIterator[int]:
        self.mark("held")
        for n in itertools.count():
            yield n
            await asyncio.sleep(0.01)


class Versioned:
    """tsversioned 3.1.0: served under ``<prefix>.tsversioned.v3``."""

    async def ping(self) -> str:
        return "pong from python 3.1.0"
