"""The contract the generated TypeScript client is tested against, from Node,
on Python handlers: every supported type (``tsvalues``), every kind of method
and error (``tsbehave``), server streams observed from the handler's side
(``tsstreams``), load shedding (``tsbusy``) and the versioned subject of a
1.x service (``tsversioned``, served by Python and by the Node test itself).
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import AsyncIterator
from typing import Any, Protocol

import autonats
import msgspec

from ts_models import Address, Color, Everything, Level, Tick, Tree


class NotFound(autonats.ServiceError):
    """No value has the key."""

    code = 404
    key: str


class Conflict(autonats.ServiceError):
    """The key is taken; ``name`` is reachable through ``fields`` only in TypeScript."""

    code = 409
    key: str
    owner: Address
    since: datetime.datetime | None
    name: str


class Gone(autonats.ServiceError):
    code = 410


@autonats.service("tsvalues")
class ValuesService(Protocol):
    """What it receives is what it returns, unless the method says otherwise."""

    async def echo(self, value: Everything) -> Everything: ...

    async def echo_text(self, text: str) -> str: ...

    async def echo_int(self, n: int) -> int: ...

    async def echo_float(self, x: float) -> float: ...

    async def echo_tree(self, tree: Tree) -> Tree: ...

    async def big(self) -> int:
        """Returns 2**63, more than a JavaScript number holds exactly."""
        ...

    async def add(self, values: list[decimal.Decimal]) -> decimal.Decimal:
        """The exact sum: decimals are not floats."""
        ...

    async def shift(
        self, at: datetime.datetime, by: datetime.timedelta
    ) -> datetime.datetime: ...

    async def defaults(
        self,
        a: int,
        b: str = "b",
        *,
        color: Color = Color.GREEN,
        level: Level | None = None,
        required: bool,
    ) -> dict[str, Any]:
        """The arguments as the handler received them (defaults applied)."""
        ...


@autonats.service("tsbehave", errors=[NotFound, Conflict, Gone])
class BehaveService(Protocol):
    """Errors, oneway calls, deadlines."""

    async def find(self, key: str) -> str: ...

    async def claim(self, key: str) -> None: ...

    async def gone(self) -> None: ...

    async def fail(self) -> None: ...

    async def sleep(self, seconds: float) -> float: ...

    async def seen(self) -> dict[str, str]:
        """The headers of this call, as the handler received them."""
        ...

    @autonats.oneway
    async def notify(self, key: str) -> None: ...

    @autonats.oneway(durable=True)
    async def record(self, key: str) -> None: ...

    async def notified(self) -> list[str]:
        """Keys received by notify and record, in order."""
        ...

    @autonats.method(timeout=0.5)
    async def quick(self) -> str: ...


class Progress(msgspec.Struct):
    """What a stream's generator did, as the handler saw it."""

    #: Items it produced (yielded).
    produced: int
    #: Its ``finally`` ran (it ended, failed or was stopped).
    closed: bool
    #: How it ended: "", "exhausted", "stopped" (closed from outside) or "failed".
    how: str


@autonats.service("tsstreams", errors=[NotFound])
class StreamsService(Protocol):
    """Server streams; each records its progress under its key."""

    def count(self, key: str, n: int, fail_after: int = -1) -> AsyncIterator[int]:
        """0, 1, ... n - 1; NotFound after ``fail_after`` items if that is >= 0."""
        ...

    def ticks(
        self, key: str, every: float = 0.0, first: int = 0
    ) -> AsyncIterator[Tick]:
        """Ticks until stopped, ``every`` seconds apart after the ``first`` ones."""
        ...

    def nothing(self, key: str) -> AsyncIterator[None]:
        """Three nulls."""
        ...

    async def progress(self, key: str) -> Progress:
        """The progress of the stream of ``key`` (zeros before it starts)."""
        ...


@autonats.service("tsbusy")
class BusyService(Protocol):
    """One call at a time (the test serves it with no queue)."""

    @autonats.method(concurrency=1)
    async def hold(self, ms: int) -> int: ...

    @autonats.method(concurrency=1)
    def held(self) -> AsyncIterator[int]:
        """0, 1, 2, ... until stopped: an open stream holds the one slot."""
        ...


@autonats.service("tsversioned", version="3.1.0")
class VersionedService(Protocol):
    async def ping(self) -> str: ...
