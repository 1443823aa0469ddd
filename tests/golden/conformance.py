"""Typing test: every generated client satisfies its Protocol (checked by mypy --strict).

Never imported at run time; ``tests/codegen`` runs mypy on it.
"""

from __future__ import annotations

import decimal
import uuid
from collections.abc import AsyncGenerator, AsyncIterator

import autonats.sync
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
import streams
import streams_nats
import wrap_literals
import wrap_literals_nats
from golden_types import Item, Point


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
    feed: streams.FeedService = streams_nats.FeedClient(nc, stream_window=16)
    ticker: streams.TickerService = streams_nats.TickerClient(nc)
    print(kitchen_svc, store, audit, clock, flagged, long, quotes, report)
    print(inventory, ab, cde, shadow, feed, ticker)


async def read_streams(nc: nats.aio.client.Client) -> None:
    feed: streams.FeedService = streams_nats.FeedClient(nc)
    async for item in feed.items("k", limit=3):  # through the Protocol
        print(item.price)
    numbers: AsyncGenerator[int, None] = feed.numbers(1)
    print(await numbers.asend(None))
    await numbers.aclose()
    async with streams_nats.FeedClient(nc).slow(0.5, ["a"]) as rows:  # the client
        async for row in rows:
            print(row["a"][0] + 1)
    async with kitchen_nats.KitchenClient(nc).watch("p") as items:
        print([i.price async for i in items])


class Feed:
    """An implementation: plain async generators satisfy the Protocol."""

    async def items(self, key: str, *, limit: int | None = None) -> AsyncIterator[Item]:
        yield Item(id=uuid.UUID(int=limit or 0), price=decimal.Decimal(key))

    async def numbers(self, start: int = 0) -> AsyncGenerator[int, None]:
        yield start

    async def points(self) -> AsyncIterator[Point]:
        yield Point(1.0)

    async def nothing(self) -> AsyncIterator[None]:
        yield None

    async def slow(
        self, every: float, keys: list[str]
    ) -> AsyncIterator[dict[str, list[int]]]:
        yield {k: [1] for k in keys}

    async def count(self) -> int:
        return 1


def sync_clients(conn: autonats.sync.Connection) -> None:
    feed = streams_nats.FeedSyncClient(conn, timeout=2.0)
    total: int = feed.count()
    with feed.items("k") as items:
        for item in items:
            print(item.price, total)
    first: int = next(feed.numbers())
    kitchen_sync = kitchen_nats.KitchenSyncClient(conn)
    optional: str | None = kitchen_sync.optionals(1, "b", 2)
    kitchen_sync.notify("note")
    print(first, optional, plain_nats.ClockSyncClient(conn).now())


def handlers(
    nc: nats.aio.client.Client,
    kitchen_impl: kitchen.KitchenService,
    clock_impl: plain.ClockService,
) -> None:
    kitchen_nats.KitchenHandler(nc, kitchen_impl, concurrency=2, queue_size=10)
    plain_nats.ClockHandler(nc, clock_impl, prefix="x")
    feed_impl: streams.FeedService = Feed()
    streams_nats.FeedHandler(nc, feed_impl)
    streams_nats.FeedHandler(nc, Feed())
