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
