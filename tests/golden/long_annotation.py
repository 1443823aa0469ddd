"""Golden case (regression): annotations too long for one line.

ruff format splits inside the subscript; the generator writes the return
annotation and the ``result: T = await ...`` line unsplit.
"""

from __future__ import annotations

from typing import Protocol

import autonats

from golden_types import Crate, Item, Note, Order, Point, Span, Tally


@autonats.service("report")
class ReportService(Protocol):
    async def quarterly(
        self, region: str
    ) -> tuple[Point, Span, Tally, Item, Order, Crate, Note, Point, Span, Tally]: ...

    async def by_color(self) -> dict[str, list[tuple[Crate, Item, Span, Point]]]: ...
