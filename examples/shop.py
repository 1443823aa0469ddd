"""Implementations of the example services: plain classes, no autonats base class.

Serve one with ``autonats serve shop:UserStore`` (run from this folder), or
both major versions of the user service from one process with
``autonats serve shop:UserStore shop:UserStoreV2``.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Literal

from models import Address, Point, Priority, Profile, Role, Stats, User, UserEvent
from users import InventoryService, OutOfStock, UserNotFound, UserService
from users_v2 import UserServiceV2

log = logging.getLogger("shop")


class UserStore:
    """An in-memory UserService."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.touched: list[str] = []
        self.events: list[UserEvent] = []
        self._changed = asyncio.Condition()

    async def get_by_id(self, id: str) -> User:
        try:
            return self.users[id]
        except KeyError:
            raise UserNotFound(f"no user with id {id}", id=id) from None

    async def get_all(self) -> list[User]:
        return sorted(self.users.values(), key=lambda u: u.id)

    async def delete_all(self) -> None:
        for user in self.users.values():
            await self._record("deleted", user)
        self.users.clear()

    async def touch(self, id: str) -> None:
        self.touched.append(id)

    async def rebuild(self, full: bool = False) -> int:
        if full:
            raise RuntimeError("the index is on fire")  # an undeclared error: a 500
        return len(self.users)

    async def create(
        self,
        name: str,
        email: str | None = None,
        role: Role = Role.CUSTOMER,
        *,
        address: Address | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> User:
        user = User(
            id=str(len(self.users) + 1),
            name=name,
            role=role,
            email=email,
            address=address,
            tags=tags,
        )
        self.users[user.id] = user
        await self._record("created", user)
        return user

    async def search(
        self, query: str, limit: int = 10, roles: set[Role] | None = None
    ) -> tuple[User, ...]:
        found = [
            u
            for u in self.users.values()
            if query.lower() in u.name.lower() and (not roles or u.role in roles)
        ]
        return tuple(found[:limit])

    async def stats(self) -> Stats:
        by_role: dict[str, int] = {}
        for u in self.users.values():
            by_role[u.role.value] = by_role.get(u.role.value, 0) + 1
        return {"users": len(self.users), "by_role": by_role}

    async def profile(self, profile: Profile) -> Profile:
        return profile.model_copy(update={"bio": profile.bio or "(no bio yet)"})

    async def sleep(self, seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def watch(self, since: int = 0) -> AsyncIterator[UserEvent]:
        # An async generator: autonats sends each event as the caller's credit
        # allows, and closes it (its finally runs) when the caller stops.
        seen = max(since, 0)
        while True:
            async with self._changed:
                while len(self.events) <= seen:
                    await self._changed.wait()
            for event in self.events[seen:]:
                yield event
                seen = event.seq

    async def _record(self, kind: Literal["created", "deleted"], user: User) -> None:
        async with self._changed:
            self.events.append(UserEvent(len(self.events) + 1, kind, user))
            self._changed.notify_all()


class UserStoreV2:
    """UserServiceV2 (users_v2.py) over the same users as a version 1 store:
    both major versions served side by side from one set of data."""

    def __init__(self, store: UserStore | None = None) -> None:
        self.store = store or UserStore()

    async def get_by_id(self, id: int) -> User:
        return await self.store.get_by_id(str(id))

    async def page(self, offset: int = 0, limit: int = 50) -> list[User]:
        return (await self.store.get_all())[offset : offset + limit]

    async def create(
        self, name: str, email: str | None = None, role: Role = Role.CUSTOMER
    ) -> User:
        return await self.store.create(name, email, role)


class Inventory:
    """An in-memory InventoryService."""

    def __init__(self) -> None:
        self.stock: dict[uuid.UUID, int] = {}

    async def reserve(
        self, sku: uuid.UUID, quantity: int, price: decimal.Decimal
    ) -> dict[str, int | str]:
        available = self.stock.get(sku, 0)
        if quantity > available:
            raise OutOfStock(f"only {available} left", sku=sku, available=available)
        self.stock[sku] = available - quantity
        return {
            "sku": str(sku),
            "left": available - quantity,
            "total": str(price * quantity),
        }

    async def locate(
        self, near: Point, priority: Priority = Priority.LOW
    ) -> list[Point]:
        step = 0.1 if priority is Priority.HIGH else 1.0
        return [Point(near.lat + step, near.lon), Point(near.lat, near.lon + step)]

    async def schedule(
        self,
        day: datetime.date,
        at: datetime.time,
        every: datetime.timedelta | None,
        mode: Literal["once", "repeat"] = "once",
    ) -> datetime.datetime:
        when = datetime.datetime.combine(day, at, tzinfo=datetime.timezone.utc)
        return when + every if every is not None and mode == "repeat" else when

    async def blob(self, data: bytes, checksum: int | str | None = None) -> bytes:
        return data[::-1]


def _implement() -> tuple[UserService, UserServiceV2, InventoryService]:
    """Never called: mypy checks here that each store implements its Protocol."""
    return UserStore(), UserStoreV2(), Inventory()
