"""A handler that cannot start leaves nothing behind; clients and handlers refuse
bad options when made; a burst of oneway calls is queued, not dropped; a
reply carries every field of its value."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol

import autonats
import nats.aio.client
import pytest
from autonats.contract import MethodOptions, spec
from autonats.runtime import Handler, endpoint
from autonats.runtime.client import Client

from rt_api_nats import RtEchoClient, RtEchoHandler, RtOpsClient, RtOpsHandler
from rt_helpers import eventually, request
from rt_impl import Echo, Ops
from rt_types import Box


class MixedService(Protocol):
    async def first(self) -> int: ...

    async def second(self) -> int: ...

    async def stored(self, n: int) -> None: ...


MIXED = spec.build(
    MixedService,
    name="mixed",
    methods={
        "first": MethodOptions(),
        "second": MethodOptions(),
        "stored": MethodOptions(oneway=True, durable=True),
    },
)


class Mixed:
    async def first(self) -> int:
        return 1

    async def second(self) -> int:
        return 2

    async def stored(self, n: int) -> None:
        return None


async def test_a_handler_that_fails_to_start_undoes_what_it_did(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """The third method needs JetStream, which the session's server lacks: run()
    fails with one error, and the two methods subscribed before are gone again."""
    handler = Handler.for_spec(MIXED)(hnc, Mixed(), prefix=prefix)
    with pytest.raises(autonats.AutonatsError) as info:
        await handler.run()
    message = str(info.value)
    assert message.startswith(
        f"cannot serve mixed: setting up the durable calls of {prefix}.mixed.stored"
    )
    assert "JetStream" in message
    assert not handler.running
    await hnc.flush()
    for method in ("first", "second"):
        with pytest.raises(autonats.NoRespondersError):
            await Client(nc, MIXED, prefix=prefix).call(method, [])
    # Nor does it answer discovery.
    assert await autonats.discover(nc, "mixed", timeout=0.3) == []


@pytest.mark.parametrize("timeout", [float("inf"), float("nan"), 0, -1, True, 1e12])
def test_a_client_refuses_a_timeout_it_cannot_keep(
    nc: nats.aio.client.Client, timeout: float
) -> None:
    with pytest.raises(ValueError, match="timeout must be a finite number"):
        RtEchoClient(nc, timeout=timeout)


@pytest.mark.parametrize("prefix", ["bad prefix", "", "a..b", "a.*", "a.>", ".a"])
def test_clients_and_handlers_refuse_a_prefix_that_cannot_start_a_subject(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    with pytest.raises(ValueError, match="is not a subject prefix"):
        RtEchoClient(nc, prefix=prefix)
    with pytest.raises(ValueError, match="is not a subject prefix"):
        RtEchoHandler(nc, Echo(), prefix=prefix)


@pytest.mark.parametrize(
    ("option", "value"), [("concurrency", 0), ("concurrency", 1.5), ("queue_size", -1)]
)
def test_a_handler_refuses_bad_limits(
    nc: nats.aio.client.Client, option: str, value: float
) -> None:
    with pytest.raises(ValueError, match=option):
        RtEchoHandler(nc, Echo(), **{option: value})  # type: ignore[arg-type]


@pytest.mark.timeout(90)
async def test_a_burst_of_oneway_calls_is_queued_not_dropped(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """20,000 oneway calls back to back, each served: the method's concurrency
    (100) and request queue (100) are far smaller than the burst."""
    ops = Ops()
    count = 20_000
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=100) as handler:
        client = RtOpsClient(nc, prefix=prefix)
        for n in range(count):
            await client.note(str(n))
        await nc.flush()
        await eventually(
            lambda: len(ops.notes) == count, timeout=60, what="every note served"
        )
        stats = handler.stats()["note"]
        assert stats.dropped == 0 and stats.shed == 0
        assert stats.num_requests == count
    # Started in arrival order (each starts before the one behind it).
    assert ops.notes[:100] == [str(n) for n in range(100)]


class GateService(Protocol):
    async def note(self, text: str) -> None: ...


GATE = spec.build(
    GateService,
    name="gate",
    methods={"note": MethodOptions(oneway=True, concurrency=1)},
)


class Gate:
    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.notes: list[str] = []

    async def note(self, text: str) -> None:
        await self.open.wait()
        self.notes.append(text)


async def test_dropped_oneway_calls_are_counted_and_logged_once(
    nc: nats.aio.client.Client,
    hnc: nats.aio.client.Client,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the oneway queue's bound calls are dropped: counted, logged at most
    once per interval."""
    monkeypatch.setattr(endpoint, "ONEWAY_QUEUE_MESSAGES", 10)
    gate = Gate()
    async with Handler.for_spec(GATE)(hnc, gate, prefix=prefix) as handler:
        with caplog.at_level(logging.WARNING, logger="autonats.handler"):
            for n in range(30):  # one runs (and waits), ten queue, 19 are dropped
                body = json.dumps({"text": str(n)}).encode()
                await nc.publish(f"{prefix}.gate.note", body)
            await nc.flush()
            stats = handler.stats()["note"]
            await eventually(lambda: stats.dropped == 19, what="19 dropped")
        assert stats.queued == 10 and stats.shed == 0
        assert stats.last_error.startswith("503:dropped")
        gate.open.set()
        await eventually(lambda: len(gate.notes) == 11, what="the eleven served")
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1
    assert "1 oneway call(s) dropped" in drops[0].getMessage()
    assert gate.notes == [str(n) for n in range(11)]


async def test_a_reply_carries_every_field_of_its_value(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """An argument decoded without its defaulted fields and sent back whole."""
    async with RtEchoHandler(hnc, Echo(), prefix=prefix):
        msg = await request(nc, f"{prefix}.rt-echo.v1.box", {"v": {"label": "x"}})
        assert json.loads(msg.data) == {"label": "x", "size": 1, "tags": []}
        assert await RtEchoClient(nc, prefix=prefix).box(Box("y")) == Box("y")
