"""Three services calling each other, for the tracing tests: alpha -> beta -> gamma."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import autonats


class Boom(autonats.ServiceError):
    """Gamma failed on purpose."""

    code = 418


@autonats.service("alpha")
class Alpha(Protocol):
    async def run(self, fail: bool = False) -> str: ...


@autonats.service("beta")
class Beta(Protocol):
    async def run(self, fail: bool) -> str: ...

    @autonats.oneway
    async def note(self, text: str) -> None: ...


@autonats.service("gamma")
class Gamma(Protocol):
    async def run(self, fail: bool) -> str: ...

    def ticks(self, n: int) -> AsyncIterator[str]: ...


@autonats.service("delta")
class Delta(Protocol):
    """Durable oneway calls (JetStream): traced across the stream too."""

    @autonats.oneway(durable=True)
    async def record(self, text: str, fail: bool = False) -> None: ...

    @autonats.oneway(durable=True)
    @autonats.method(concurrency=1)
    async def tally(self, text: str) -> None: ...
