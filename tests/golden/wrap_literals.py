"""Golden case (regression): collection literals that fit on one indented line.

ruff format explodes a list or dict literal that does not fit on one line into
one element per line; the generator hugs ``__all__``, ``metadata`` and
``errors`` on one indented line instead.
"""

from __future__ import annotations

from typing import Protocol

import autonats


class Gone(autonats.ServiceError):
    code = 410


class Teapot(autonats.ServiceError):
    code = 418


class TooLarge(autonats.ServiceError):
    code = 413


@autonats.service(
    "ab",
    metadata={
        "owner": "team-alpha-platform@example.com",
        "tier": "gold-plus-premium-x",
    },
)
class AbService(Protocol):
    async def ping(self) -> None: ...


@autonats.service("cde")
class CdeService(Protocol):
    async def ping(self) -> None: ...
