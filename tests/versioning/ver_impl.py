"""Implementations of both major versions (served by tests and by ``autonats serve``)."""

from __future__ import annotations

from ver_api import Balance


class AccountsV1Impl:
    async def balance(self, account: str) -> int:
        return 1250

    async def version(self) -> str:
        return "1.4.2"


class AccountsV2Impl:
    def __init__(self) -> None:
        self.closed: list[str] = []

    async def balance(self, account: str) -> Balance:
        return Balance(cents=1250, currency="EUR")

    async def version(self) -> str:
        return "2.0.0"

    async def close(self, account: str) -> None:
        self.closed.append(account)
