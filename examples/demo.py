"""The autonats demo: serve the example services over an embedded NATS server and
call every kind of method through the generated clients, errors included.

Run it with ``make demo`` (which generates users_nats.py first).
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import logging
import uuid

import autonats
import autonats.sync
import nats
from autonats.testing import NatsServer

import sync_client
from models import Address, Point, Priority, Profile, Role
from shop import Inventory, UserStore, UserStoreV2
from users import OutOfStock, UserNotFound, UserService
from users_nats import InventoryClient, InventoryHandler, UserClient, UserHandler
from users_v2 import UserServiceV2
from users_v2_nats import UserClient as UserV2Client
from users_v2_nats import UserHandler as UserV2Handler


def show(what: str, value: object) -> None:
    print(f"  {what:<44} -> {value!r}")


async def main(url: str) -> None:
    nc = await nats.connect(url)
    store, inventory = UserStore(), Inventory()
    async with (
        UserHandler(nc, store),
        UserV2Handler(nc, UserStoreV2(store)),  # version 2, side by side
        InventoryHandler(nc, inventory),
    ):
        users: UserService = UserClient(nc)  # the client implements the Protocol
        stock = InventoryClient(nc)

        print("request/reply")
        ada = await users.create(
            "Ada", "ada@example.com", Role.ADMIN, tags=frozenset({"vip"})
        )
        show("create('Ada', ...)", ada)
        await users.create("Grace", address=Address("Main St 1", "Utrecht"))
        show("get_by_id('1')", await users.get_by_id("1"))
        show(
            "search('a', roles={Role.ADMIN})",
            await users.search("a", roles={Role.ADMIN}),
        )
        show("stats()", await users.stats())
        show(
            "profile(Profile(...)) [pydantic]",
            await users.profile(Profile(user_id="1")),
        )
        show("rebuild() [timeout 30 s, concurrency 2]", await users.rebuild())

        print("oneway (fire-and-forget)")
        await users.touch("1")
        await nc.flush()
        await asyncio.sleep(0.05)
        show("touch('1'), then the handler saw", store.touched)

        print("declared errors arrive as the same class")
        try:
            await users.get_by_id("42")
        except UserNotFound as exc:
            show("get_by_id('42') raised UserNotFound", (exc.code, exc.message, exc.id))
        sku = uuid.uuid4()
        inventory.stock[sku] = 3
        show(
            "reserve(sku, 2, Decimal('9.95'))",
            await stock.reserve(sku, 2, decimal.Decimal("9.95")),
        )
        try:
            await stock.reserve(sku, 5, decimal.Decimal("9.95"))
        except OutOfStock as exc:
            show("reserve(sku, 5, ...) raised OutOfStock", (exc.code, exc.available))

        print("undeclared errors, timeouts, no responders")
        try:
            await users.rebuild(full=True)
        except autonats.InternalServerError as exc:
            show("rebuild(full=True) raised InternalServerError", str(exc))
        try:
            await UserClient(nc, timeout=0.2).sleep(1.0)
        except autonats.TimeoutError as exc:
            show("sleep(1.0) with timeout=0.2 raised TimeoutError", str(exc))
        try:
            await UserClient(nc, prefix="elsewhere").get_all()
        except autonats.NoRespondersError as exc:
            show("a service nobody serves raised NoResponders", str(exc))

        print("other types")
        show(
            "locate(Point, Priority.HIGH)",
            await stock.locate(Point(52.1, 5.1), Priority.HIGH),
        )
        when = await stock.schedule(
            datetime.date(2026, 12, 1),
            datetime.time(9, 30),
            datetime.timedelta(days=7),
            "repeat",
        )
        show("schedule(date, time, timedelta, 'repeat')", when)
        show("blob(b'abc')", await stock.blob(b"abc"))

        print("a stream: every user event so far, then each new one as it happens")
        # Typed as the Protocol, a stream is an AsyncIterator; the generated
        # client's Stream is also an async context manager with aclose().
        watcher = UserClient(nc)
        async with watcher.watch() as events:  # closed on leaving the block
            async for event in events:
                show(f"watch() event {event.seq}", (event.kind, event.user.name))
                if event.seq == 2:
                    break  # the handler's generator stops: its finally runs
        late = watcher.watch(since=2)
        await users.create("Linus")
        event = await anext(late)  # arrives as it happens
        show("watch(since=2), then create('Linus')", (event.seq, event.user.name))
        await late.aclose()

        print("the blocking client, from a thread without an event loop")
        await asyncio.to_thread(sync_client.main, url)
        try:
            autonats.sync.connect(url)  # here, in the event loop's thread: refused
        except RuntimeError as exc:
            show("autonats.sync.connect() in the event loop", str(exc)[:40] + "...")

        print("two major versions of user, side by side (autonats.user.v1/v2.*)")
        users_v2: UserServiceV2 = UserV2Client(nc)
        show("v2 get_by_id(1) [an int id]", (await users_v2.get_by_id(1)).name)
        show("v2 page(limit=1)", [u.name for u in await users_v2.page(limit=1)])
        show("v1 get_by_id('1') still works", (await users.get_by_id("1")).name)

        await users.delete_all()
        show("delete_all(); get_all()", await users.get_all())

        print("discovery: every handler is a NATS service ($SRV, ADR-32)")
        for instance in await autonats.discover(nc):
            requests = sum(e.num_requests for e in instance.endpoints)
            errors = sum(e.num_errors for e in instance.endpoints)
            show(
                f"{instance.name} {instance.version}",
                f"{len(instance.endpoints)} endpoints, {requests} requests, {errors} errors",
            )
    await nc.drain()
    print("handlers drained; demo finished")


class OneLine(logging.Formatter):
    """The demo's log: one line per record, naming the exception, no traceback
    (a real deployment keeps the traceback of an undeclared error)."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f" [{type(error).__name__}: {error}]"
        return f"  [handler log] {text}"


if __name__ == "__main__":
    console = logging.StreamHandler()
    console.setFormatter(OneLine())
    logging.basicConfig(level=logging.ERROR, handlers=[console])
    with NatsServer() as server:
        print(f"embedded nats-server at {server.url}")
        asyncio.run(main(server.url))
