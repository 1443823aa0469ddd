"""The contract the generated TypeScript client is tested against, from Node,
on Python handlers: every supported type (``tsvalues``), every kind of method
and error (``tsbehave``), load shedding (``tsbusy``) and the versioned
subject of a 1.x service (``tsversioned``, served by Python and by the Node
test itself).
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Protocol

import autonats

from ts_models import Address, Color, Everything, Level, Tree


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


@autonats.service("tsbusy")
class BusyService(Protocol):
    """One call at a time (the test serves it with no queue)."""

    @autonats.method(concurrency=1)
    async def hold(self, ms: int) -> int: ...


@autonats.service("tsversioned", version="3.1.0")
class VersionedService(Protocol):
    async def ping(self) -> str: ...
