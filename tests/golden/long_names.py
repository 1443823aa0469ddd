"""Golden case: names long enough that every generated construct must wrap."""

from __future__ import annotations

from typing import Protocol

import autonats

import golden_types


class ReservationWindowExpiredError(autonats.ServiceError):
    code = 410
    reservation_identifier: str


class WarehouseCapacityExceededError(autonats.ServiceError):
    code = 507
    warehouse_identifier: str
    remaining_capacity: int


class CustomerAccountSuspendedError(autonats.ServiceError):
    code = 403


@autonats.service(
    "reservation_coordination",
    version="10.20.30",
    metadata={
        "owner": "inventory-platform-team@example.com",
        "runbook": "https://runbooks.example.com/inventory/reservations",
    },
)
class ReservationCoordinationService(Protocol):
    async def reserve_items_for_customer_order_with_priority_handling(
        self,
        customer: str,
        quantities: dict[str, int],
        *,
        priority_level: golden_types.Level = golden_types.Level.HIGH,
        notification_channel: str | None = None,
    ) -> golden_types.Item: ...

    @autonats.oneway(durable=True)
    @autonats.method(timeout=12.5, concurrency=16)
    async def release_all_expired_reservations_for_warehouse(
        self, warehouse: str
    ) -> None: ...

    async def count_reservations(
        self, a_moderately_long_parameter_name: int, another_long_name: str
    ) -> dict[str, golden_types.Crate]: ...

    async def lookup_reservations_by_customer_identifier(
        self, customer_identifier: str
    ) -> list[golden_types.Crate]: ...
