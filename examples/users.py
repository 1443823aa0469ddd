"""The shop's services: the canonical autonats example, covering every supported shape."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import AsyncIterator
from typing import Literal, Protocol

import autonats

from models import Address, Point, Priority, Profile, Role, Stats, User, UserEvent


class UserNotFound(autonats.ServiceError):
    """No user has the given id."""

    code = 404
    id: str


class OutOfStock(autonats.ServiceError):
    """The item cannot be reserved."""

    code = 409
    sku: uuid.UUID
    available: int


@autonats.service("user", version="1.0.0", errors=[UserNotFound])
class UserService(Protocol):
    """Users of the shop."""

    async def get_by_id(self, id: str) -> User: ...

    async def get_all(self) -> list[User]: ...

    async def delete_all(self) -> None: ...

    @autonats.oneway
    async def touch(self, id: str) -> None: ...

    @autonats.method(timeout=30.0, concurrency=2)
    async def rebuild(self, full: bool = False) -> int: ...

    async def create(
        self,
        name: str,
        email: str | None = None,
        role: Role = Role.CUSTOMER,
        *,
        address: Address | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> User: ...

    async def search(
        self, query: str, limit: int = 10, roles: set[Role] | None = None
    ) -> tuple[User, ...]: ...

    async def stats(self) -> Stats: ...

    async def profile(self, profile: Profile) -> Profile: ...

    async def sleep(self, seconds: float) -> float: ...

    # A stream (not async def: an async generator implements it): every event
    # after ``since``, then each new one as it happens, until the caller stops.
    # The timeout bounds the wait for each event; each open watch holds one of
    # the 100 slots of its handler.
    @autonats.method(timeout=60.0, concurrency=100)
    def watch(self, since: int = 0) -> AsyncIterator[UserEvent]: ...


@autonats.service("inventory", errors=[OutOfStock])
class InventoryService(Protocol):
    """Stock levels."""

    async def reserve(
        self, sku: uuid.UUID, quantity: int, price: decimal.Decimal
    ) -> dict[str, int | str]: ...

    async def locate(
        self, near: Point, priority: Priority = Priority.LOW
    ) -> list[Point]: ...

    async def schedule(
        self,
        day: datetime.date,
        at: datetime.time,
        every: datetime.timedelta | None,
        mode: Literal["once", "repeat"] = "once",
    ) -> datetime.datetime: ...

    async def blob(self, data: bytes, checksum: int | str | None = None) -> bytes: ...
