"""Typing test: every generated client satisfies its Protocol (checked by mypy --strict).

Never imported at run time; ``tests/codegen`` runs mypy on it.
"""

from __future__ import annotations

import nats.aio.client

import default_quotes
import default_quotes_nats
import flags
import flags_nats
import kitchen
import kitchen_nats
import long_annotation
import long_annotation_nats
import long_call
import long_call_nats
import long_names
import long_names_nats
import plain
import plain_nats
import shadowing
import shadowing_nats
import wrap_literals
import wrap_literals_nats


def clients(nc: nats.aio.client.Client) -> None:
    kitchen_svc: kitchen.KitchenService = kitchen_nats.KitchenClient(nc)
    store: plain.StoreService = plain_nats.PlainStoreClient(nc, timeout=1.0)
    audit: plain.AuditService = plain_nats.AuditLogClient(nc, prefix="x")
    clock: plain.ClockService = plain_nats.ClockClient(nc)
    flagged: flags.FlaggedService = flags_nats.FlaggedClient(nc)
    long: long_names.ReservationCoordinationService = (
        long_names_nats.ReservationCoordinationClient(nc)
    )
    quotes: default_quotes.QuotesService = default_quotes_nats.QuotesClient(nc)
    shadow: shadowing.ShadowService = shadowing_nats.ShadowClient(nc)
    report: long_annotation.ReportService = long_annotation_nats.ReportClient(nc)
    inventory: long_call.InventoryReservationCoordinationService = (
        long_call_nats.InventoryReservationCoordinationClient(nc)
    )
    ab: wrap_literals.AbService = wrap_literals_nats.AbClient(nc)
    cde: wrap_literals.CdeService = wrap_literals_nats.CdeClient(nc)
    print(kitchen_svc, store, audit, clock, flagged, long, quotes, report)
    print(inventory, ab, cde, shadow)


def handlers(
    nc: nats.aio.client.Client,
    kitchen_impl: kitchen.KitchenService,
    clock_impl: plain.ClockService,
) -> None:
    kitchen_nats.KitchenHandler(nc, kitchen_impl, concurrency=2, queue_size=10)
    plain_nats.ClockHandler(nc, clock_impl, prefix="x")
