"""``autonats permissions`` installed on a real nats-server: each user can do
its job and nothing else, and every refusal is an error at once.

Users: ``inv`` serves inventory, ``bill`` serves billing, ``alice`` calls
inventory (with discovery) and ``bob`` calls billing, each client with a
private inbox prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shlex
import time
from collections.abc import AsyncIterator
from typing import Any

import autonats
import nats.aio.client
import pytest
from autonats.cli import main
from autonats.runtime.permissions import for_handler
from autonats.testing import NatsServer, Operator

from sec_api_nats import (
    BILLING_SERVICE,
    INVENTORY_SERVICE,
    BillingClient,
    BillingHandler,
    InventoryClient,
    InventoryHandler,
)
from sec_impl import Billing, Inventory
from sec_support import SECURITY, users

pytestmark = pytest.mark.timeout(60)

API = str(SECURITY / "sec_api.py")


def permissions(*args: str) -> Any:
    """``autonats permissions sec_api.py ARGS`` (run in-process), its output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["permissions", API, *args]) == 0
    text = out.getvalue()
    return json.loads(text) if "--format" not in args else text


ROLES = {
    "inv": ("--handler", "inventory"),
    "bill": ("--handler", "billing"),
    "alice": ("--client", "inventory", "--discovery", "--inbox-prefix", "_INBOX_alice"),
    "bob": ("--client", "billing", "--inbox-prefix", "_INBOX_bob"),
}
INBOXES = {"alice": "_INBOX_alice", "bob": "_INBOX_bob"}


class Errors:
    """A connection's error callback that keeps what it is given."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def record(self, exc: Exception) -> None:
        self.seen.append(str(exc))


@pytest.fixture(scope="module")
def shop() -> Any:
    """One JetStream server with the four users and their generated permissions."""
    config = users(
        *(
            {"user": name, "password": f"{name}-pw", "permissions": permissions(*args)}
            for name, args in ROLES.items()
        )
    )
    with NatsServer(config=config, jetstream=True) as server:
        yield server


async def _connect(server: NatsServer, name: str, **options: Any) -> Any:
    options.setdefault("inbox_prefix", INBOXES.get(name))
    return await autonats.connect(
        server.url,
        user=name,
        password=f"{name}-pw",
        max_reconnect_attempts=0,
        **options,
    )


@pytest.fixture
async def served(shop: NatsServer) -> AsyncIterator[tuple[Inventory, Any, Any]]:
    """Inventory and billing handlers, each connected as its own user."""
    inv = await _connect(shop, "inv")
    bill = await _connect(shop, "bill")
    impl = Inventory()
    try:
        async with (
            InventoryHandler(inv, impl) as handler,
            BillingHandler(bill, Billing()),
        ):
            yield impl, handler, inv
    finally:
        await inv.close()
        await bill.close()


async def test_the_client_calls_and_discovers(shop: NatsServer, served: Any) -> None:
    impl, _, _ = served
    alice = await _connect(shop, "alice")
    try:
        inventory = InventoryClient(alice)
        assert await inventory.count("apple") == 3
        with pytest.raises(autonats.ServiceError):
            await inventory.count("kiwi")
        await inventory.note("hello")
        # Durable: JetStream with the generated rules, acknowledged through
        # allow_responses.
        await inventory.restock("pear", 2)
        await asyncio.wait_for(impl.restocked.wait(), 10)
        assert impl.stock["pear"] == 2
        (instance,) = await autonats.discover(alice, "inventory", timeout=2)
        assert instance.version == "1.0.0"
        with pytest.raises(autonats.PermissionDenied):  # all services: not asked for
            await autonats.discover(alice, timeout=2)
    finally:
        await alice.close()
    inv = await _connect(shop, "inv")
    try:
        info = await inv.jetstream().consumer_info(
            "autonats_inventory_v1", "inventory_v1_restock"
        )
        assert info.num_ack_pending == 0 and info.num_redelivered == 0
    finally:
        await inv.close()


async def test_a_client_cannot_answer_for_the_service(
    shop: NatsServer, served: Any
) -> None:
    errors = Errors()
    alice = await _connect(shop, "alice", error_cb=errors.record)
    try:
        forged = 0

        async def forge(msg: Any) -> None:
            nonlocal forged
            forged += 1
            await msg.respond(b"999")

        for subject, queue in (
            ("autonats.inventory.v1.count", "q"),
            ("autonats.inventory.v1.count", ""),
            ("autonats.>", ""),
        ):
            await alice.subscribe(subject, queue=queue, cb=forge)
        await alice.flush()
        await asyncio.sleep(0.1)
        refused = [
            e for e in errors.seen if "permissions violation for subscription" in e
        ]
        assert len(refused) == 3, errors.seen

        inventory = InventoryClient(alice)
        results = await asyncio.gather(*(inventory.count("apple") for _ in range(50)))
        assert results == [3] * 50
        assert forged == 0
    finally:
        await alice.close()


async def test_calling_a_service_not_allowed_fails_at_once(
    shop: NatsServer, served: Any
) -> None:
    alice = await _connect(shop, "alice")
    try:
        billing = BillingClient(alice, timeout=5.0)
        started = time.monotonic()
        with pytest.raises(autonats.PermissionDenied) as denied:
            await billing.total("o-1")
        assert time.monotonic() - started < 1.0
        assert denied.value.subject == "autonats.billing.total"
        assert denied.value.operation == "publish"
        assert "autonats.billing.total" in str(denied.value)
        # The connection is still fine for what is allowed.
        assert await InventoryClient(alice).count("apple") == 3
    finally:
        await alice.close()


async def test_private_inboxes(shop: NatsServer, served: Any) -> None:
    errors = Errors()
    bob = await _connect(shop, "bob", error_cb=errors.record)
    alice = await _connect(shop, "alice")
    try:
        spied: list[bytes] = []

        async def spy(msg: Any) -> None:
            spied.append(msg.data)

        await bob.subscribe("_INBOX_alice.>", cb=spy)
        await bob.subscribe("_INBOX.>", cb=spy)
        await bob.flush()
        assert await InventoryClient(alice).count("apple") == 3
        assert spied == []
        assert (
            sum("permissions violation for subscription" in e for e in errors.seen) == 2
        )
    finally:
        await alice.close()
        await bob.close()
    # Alice connecting without her prefix is told why her calls cannot work.
    lost = await _connect(shop, "alice", inbox_prefix="_INBOX")
    try:
        started = time.monotonic()
        with pytest.raises(autonats.PermissionDenied) as denied:
            await InventoryClient(lost).count("apple")
        assert time.monotonic() - started < 1.0
        assert denied.value.operation == "subscribe"
        assert denied.value.subject.startswith("_inbox.")
    finally:
        await lost.close()


async def test_a_handler_without_the_rights_fails_to_start(shop: NatsServer) -> None:
    alice = await _connect(shop, "alice")
    try:
        handler = BillingHandler(alice, Billing())
        with pytest.raises(autonats.PermissionDenied) as denied:
            await handler.run()
        assert str(denied.value).startswith("cannot serve billing: permission denied")
        assert "autonats.billing.total" in str(denied.value)
        assert not handler.running
    finally:
        await alice.close()
    bill = await _connect(shop, "bill")
    try:
        # Durable methods: refused at the JetStream API, without waiting 5 s for it.
        handler = InventoryHandler(bill, Inventory())
        started = time.monotonic()
        with pytest.raises(autonats.PermissionDenied) as denied:
            await handler.run()
        assert time.monotonic() - started < 2.0
        assert "cannot serve inventory: permission denied" in str(denied.value)
    finally:
        await bill.close()


def test_the_rules_are_exact() -> None:
    handler = for_handler(INVENTORY_SERVICE).to_json()
    # Nothing wider than needed: no wildcard to publish to, wildcards to
    # subscribe to only for $SRV instance ids and the inbox.
    assert not any("*" in s or ">" in s for s in handler["publish"]["allow"])
    wide = [s for s in handler["subscribe"]["allow"] if "*" in s or ">" in s]
    assert wide == [
        "$SRV.PING.inventory.*",
        "$SRV.INFO.inventory.*",
        "$SRV.STATS.inventory.*",
        "_INBOX.>",
    ]
    assert "autonats.inventory.v1.count q" in handler["subscribe"]["allow"]
    assert handler["allow_responses"] == {"max": 1, "expires": "2m"}
    billing = for_handler(BILLING_SERVICE).to_json()
    assert billing["publish"] == {"deny": [">"]}  # replies only
    assert permissions("--client", "billing") == {
        "publish": {"allow": ["autonats.billing.total"]},
        "subscribe": {"allow": ["_INBOX.>"]},
    }


def test_the_formats_say_the_same() -> None:
    wanted = permissions("--handler", "inventory", "--client", "billing")
    nsc = permissions(
        "--handler",
        "inventory",
        "--client",
        "billing",
        "--format",
        "nsc",
        "--name",
        "u1",
    )
    words = shlex.split(nsc.replace("\\\n", " "), comments=True)
    assert words[:5] == ["nsc", "edit", "user", "--name", "u1"]
    pairs = list(zip(words[5::2], words[6::2], strict=True))
    assert [v for f, v in pairs if f == "--allow-pub"] == wanted["publish"]["allow"]
    assert [v for f, v in pairs if f == "--allow-sub"] == wanted["subscribe"]["allow"]
    assert ("--allow-pub-response", "1") in pairs and ("--response-ttl", "2m") in pairs


async def test_the_conf_format_runs_a_server(tmp_path: Any) -> None:
    blocks = {
        name: permissions(*args, "--format", "conf") for name, args in ROLES.items()
    }
    conf = tmp_path / "server.conf"
    conf.write_text(
        "authorization {\n  users: [\n"
        + "\n".join(
            f"    {{user: {name}, password: {name}-pw\n{block}\n    }}"
            for name, block in blocks.items()
        )
        + "\n  ]\n}\n"
    )
    with NatsServer(args=["-c", str(conf)]) as server:
        bill = await _connect(server, "bill")
        bob = await _connect(server, "bob")
        try:
            async with BillingHandler(bill, Billing()):
                assert await BillingClient(bob).total("abc") == 300
                with pytest.raises(autonats.PermissionDenied):
                    await InventoryClient(bob).count("apple")
        finally:
            await bill.close()
            await bob.close()


async def test_jwt_users_with_the_same_permissions(operator: Operator) -> None:
    """Decentralized auth: the permissions signed into user JWTs, as nsc would."""
    with NatsServer(config=operator.server_config(), jetstream=True) as server:
        creds = {
            name: operator.creds(name, permissions(*args))
            for name, args in ROLES.items()
        }

        async def connect(name: str) -> nats.aio.client.Client:
            return await autonats.connect(
                server.url,
                creds=str(creds[name]),
                inbox_prefix=INBOXES.get(name),
                max_reconnect_attempts=0,
            )

        inv, alice = await connect("inv"), await connect("alice")
        impl = Inventory()
        try:
            async with InventoryHandler(inv, impl):
                inventory = InventoryClient(alice)
                assert await inventory.count("apple") == 3
                await inventory.restock("fig", 1)
                await asyncio.wait_for(impl.restocked.wait(), 10)
                with pytest.raises(autonats.PermissionDenied):
                    await BillingClient(alice).total("x")
        finally:
            await inv.close()
            await alice.close()


async def test_a_refusal_after_the_start_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pull refused at the start fails run(); refused later (the operator
    narrowed the user's permissions and reloaded the server), the handler
    says so once, loudly, instead of going quiet."""
    rules = permissions("--handler", "inventory")
    pull = "$JS.API.CONSUMER.MSG.NEXT.autonats_inventory_v1.inventory_v1_restock"
    narrowed = json.loads(json.dumps(rules))
    narrowed["publish"]["allow"].remove(pull)
    with NatsServer(
        config=users({"user": "inv", "password": "inv-pw", "permissions": narrowed}),
        jetstream=True,
    ) as server:
        inv = await _connect(server, "inv")
        try:
            with pytest.raises(autonats.PermissionDenied) as denied:
                await InventoryHandler(inv, Inventory()).run()
            assert denied.value.subject == pull.lower()
        finally:
            await inv.close()
    with NatsServer(
        config=users({"user": "inv", "password": "inv-pw", "permissions": rules}),
        jetstream=True,
    ) as server:
        inv = await _connect(server, "inv")
        try:
            async with InventoryHandler(inv, Inventory()):
                server.reload(
                    users(
                        {"user": "inv", "password": "inv-pw", "permissions": narrowed}
                    )
                )
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and not [
                    r for r in caplog.records if r.name == "autonats.handler"
                ]:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(2.5)  # more pulls, refused again
        finally:
            await inv.close()
    logged = [r for r in caplog.records if r.name == "autonats.handler"]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert pull.lower() in logged[0].getMessage()
    assert logged[0].levelname == "ERROR"
