"""Two major versions of one service, declared side by side in one file.

``accounts`` 1.x returns a balance in whole cents; 2.x in a record with a
currency: an incompatible change, so a new major version with subjects of its
own (``autonats.accounts.v1.balance`` and ``autonats.accounts.v2.balance``).
"""

from __future__ import annotations

from typing import Protocol

import autonats
import msgspec


class Balance(msgspec.Struct):
    cents: int
    currency: str


@autonats.service("accounts", version="1.4.2")
class AccountsV1(Protocol):
    """Balances in cents."""

    async def balance(self, account: str) -> int: ...

    async def version(self) -> str: ...


@autonats.service("accounts", version="2.0.0")
class AccountsV2(Protocol):
    """Balances with their currency."""

    async def balance(self, account: str) -> Balance: ...

    async def version(self) -> str: ...

    async def close(self, account: str) -> None: ...
