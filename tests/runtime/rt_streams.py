"""Interface of the stream and blocking-client tests.

``rt-feed`` streams on request: counts, endless feeds, slow ones, typed
records, errors at a chosen item; its unary methods serve the blocking
client's tests and report what the generators did (for a handler in
another process).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

import autonats

from rt_types import Record


class Exhausted(autonats.ServiceError):
    """A declared error raised by a generator after some items."""

    code = 410
    after: int


@autonats.service("rt-feed", version="1.0.0", errors=[Exhausted])
class FeedService(Protocol):
    """Streams, and what their generators did."""

    def count(
        self, n: int, fail_at: int = -1, crash_at: int = -1
    ) -> AsyncIterator[int]: ...

    def endless(self, size: int = 0, tag: str = "") -> AsyncIterator[str]: ...

    def pause(self, every: float, n: int = 1_000_000) -> AsyncGenerator[int, None]: ...

    def records(self, n: int) -> AsyncIterator[Record]: ...

    @autonats.method(concurrency=2)
    def limited(self, tag: str) -> AsyncIterator[int]: ...

    async def double(self, x: int) -> int: ...

    async def sleep(self, seconds: float) -> float: ...

    async def fail(self, after: int) -> None: ...

    async def produced(self, tag: str) -> int: ...

    async def closed(self, tag: str) -> int: ...
