"""Golden case: no future import, the comment form, several services in one file."""

# The old typing spellings are used on purpose: the generator must accept them.
# ruff: noqa: UP006, UP007, UP035, UP045

import datetime
from typing import Dict, List, Optional, Protocol, Tuple, Union

import autonats

import golden_types


# @nats:server plain-store
class StoreService(Protocol):
    """Keys and items (declared by the comment form only)."""

    async def put(
        self, key: str, value: Optional[golden_types.Item] = None
    ) -> bool: ...

    async def get(self, key: str) -> Union[golden_types.Item, None]: ...

    async def keys(
        self, prefix: str = "", *, limit: int | None = None
    ) -> List[str]: ...

    async def colors(
        self, default: golden_types.Color = golden_types.Color.RED
    ) -> Dict[golden_types.Color, int]: ...


@autonats.service("audit_log")
class AuditService(Protocol):
    @autonats.oneway
    async def log(
        self, at: datetime.datetime, fields: Dict[str, Tuple[int, ...]]
    ) -> None: ...


# @nats:server clock
@autonats.service("clock", version="1.0.0")
class ClockService(Protocol):
    """The comment and the decorator agree on the name."""

    async def now(self) -> datetime.datetime: ...

    async def tomorrow(self, day: datetime.date) -> datetime.date: ...
