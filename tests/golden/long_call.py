"""Golden case (regression): a long service name and a long argument tuple.

The client's ``autonats.client.Client(...)`` call and the ``(a, b, ...)`` tuple
of a call are written on one over-long line where ruff format splits them.
"""

from __future__ import annotations

from typing import Protocol

import autonats


@autonats.service("inventory_reservation_coordination")
class InventoryReservationCoordinationService(Protocol):
    async def reserve(
        self,
        customer_identifier: str,
        requested_quantities: dict[str, int],
        priority_level_of_the_request: int,
        notification_channel: str | None = None,
    ) -> None: ...
