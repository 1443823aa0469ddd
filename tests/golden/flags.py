"""Golden case: generated with --timeout 2.5 --concurrency 3; methods may override them."""

from __future__ import annotations

from typing import Protocol

import autonats


@autonats.service("flagged")
class FlaggedService(Protocol):
    async def defaults(self) -> None: ...

    @autonats.method(timeout=9)
    async def own_timeout(self) -> None: ...

    @autonats.method(concurrency=8)
    async def own_concurrency(self) -> None: ...

    @autonats.oneway
    async def fire(self) -> None: ...

    @autonats.method(breaker=True)
    async def guarded(self) -> int: ...

    @autonats.method(
        timeout=1,
        breaker=autonats.Breaker(failure_rate=0.25, min_calls=5, window=30, probes=1),
    )
    async def tuned_breaker_with_a_long_name(self) -> int: ...

    @autonats.oneway(durable=True)
    @autonats.method(breaker=autonats.Breaker(open_for=60))
    async def stored(self) -> None: ...
