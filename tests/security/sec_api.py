"""Interfaces of the security tests: two services, so that a user allowed one
can be refused the other; ``inventory`` has a durable method (JetStream)."""

from __future__ import annotations

from typing import Protocol

import autonats


class OutOfStock(autonats.ServiceError):
    """Nothing left of ``sku``."""

    code = 409
    sku: str


@autonats.service("inventory", version="1.0.0")
class InventoryService(Protocol):
    """Stock of the shop."""

    async def count(self, sku: str) -> int: ...

    @autonats.oneway
    async def note(self, text: str) -> None: ...

    @autonats.oneway(durable=True)
    async def restock(self, sku: str, amount: int) -> None: ...


@autonats.service("billing")
class BillingService(Protocol):
    """Invoices."""

    async def total(self, order: str) -> int: ...
