"""Implementations of the security tests' services (served in and out of process)."""

from __future__ import annotations

import asyncio

from sec_api import OutOfStock


class Inventory:
    """Counts stock; ``restock`` (durable) adds to it."""

    def __init__(self) -> None:
        self.stock: dict[str, int] = {"apple": 3}
        self.notes: list[str] = []
        self.restocked = asyncio.Event()

    async def count(self, sku: str) -> int:
        if sku not in self.stock:
            raise OutOfStock(f"no {sku}", sku=sku)
        return self.stock[sku]

    async def note(self, text: str) -> None:
        self.notes.append(text)

    async def restock(self, sku: str, amount: int) -> None:
        self.stock[sku] = self.stock.get(sku, 0) + amount
        self.restocked.set()


class Billing:
    """A fixed total per order."""

    async def total(self, order: str) -> int:
        return len(order) * 100
