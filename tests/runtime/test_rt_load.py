"""Concurrency limits, load shedding with 503 and the client's retries, and drain."""

from __future__ import annotations

import asyncio
import gc
import weakref

import autonats
import nats
import nats.aio.client
import pytest

from rt_api_nats import RtOpsClient, RtOpsHandler
from rt_helpers import error_of, eventually, is_success, request
from rt_impl import Ops

pytestmark = pytest.mark.timeout(30)


async def test_concurrency_limit_caps_calls_in_flight(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=2):
        client = RtOpsClient(nc, prefix=prefix, timeout=10)
        results = await asyncio.gather(*(client.slow(0.05) for _ in range(12)))
    assert sorted(results) == list(range(1, 13))
    assert ops.max_in_flight == 2
    assert ops.finished == 12


async def test_declared_concurrency_is_the_default(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """rt-ops.slow is declared with concurrency=2; hang keeps the default 5."""
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        client = RtOpsClient(nc, prefix=prefix, timeout=10)
        await asyncio.gather(*(client.slow(0.05) for _ in range(8)))
        assert ops.max_in_flight == 2
        hanging = [asyncio.ensure_future(client.hang(0.3)) for _ in range(8)]
        await eventually(
            lambda: handler.stats()["hang"].in_flight == 5, what="5 running"
        )
        await asyncio.sleep(0.05)
        assert handler.stats()["hang"].in_flight == 5
        assert handler.stats()["hang"].queued == 3
        await asyncio.gather(*hanging)


async def test_full_queue_sheds_with_503(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=2, queue_size=1) as h:
        subject = f"{prefix}.rt-ops.slow"
        sends = [
            asyncio.ensure_future(
                request(nc, subject, {"seconds": 0.4}, timeout_ms=5000)
            )
            for _ in range(6)
        ]
        replies = await asyncio.gather(*sends)
        ok = [m for m in replies if is_success(m)]
        shed = [error_of(m) for m in replies if not is_success(m)]
        assert len(ok) == 3  # two running, one queued
        assert len(shed) == 3
        for code, _, body in shed:
            assert code == 503 and body["type"] == "Overloaded"
        assert ops.started == 3 and ops.max_in_flight == 2
        assert h.stats()["slow"].shed == 3
        # Shedding is immediate: a shed request does not wait for a slot.
        assert is_success(await request(nc, subject, {"seconds": 0}))


async def test_client_retries_503_until_capacity_frees(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=1, queue_size=0) as h:
        blocker = asyncio.ensure_future(
            request(nc, f"{prefix}.rt-ops.slow", {"seconds": 0.4}, timeout_ms=5000)
        )
        await eventually(lambda: ops.in_flight == 1, what="the slot taken")
        started = asyncio.get_running_loop().time()
        assert await RtOpsClient(nc, prefix=prefix, timeout=3).slow(0.0) == 2
        assert asyncio.get_running_loop().time() - started < 2.5
        assert h.stats()["slow"].shed >= 1  # it was refused before it got in
        assert is_success(await blocker)


async def test_client_raises_overloaded_when_capacity_never_frees(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=1, queue_size=0) as h:
        blocker = asyncio.ensure_future(
            request(nc, f"{prefix}.rt-ops.hang", {"seconds": 1.5}, timeout_ms=5000)
        )
        await eventually(lambda: ops.started == 1, what="the slot taken")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(autonats.OverloadedError) as info:
            await RtOpsClient(nc, prefix=prefix, timeout=0.5).hang(0.0)
        assert 0.3 <= loop.time() - started < 1.5
        assert info.value.code == 503 and info.value.type == "Overloaded"
        assert h.stats()["hang"].shed >= 2  # it was retried
        assert ops.started == 1
        assert is_success(await blocker)


async def test_shutdown_drains_every_accepted_call(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    handler = RtOpsHandler(hnc, ops, prefix=prefix, concurrency=2, queue_size=20)
    await handler.run()
    client = RtOpsClient(nc, prefix=prefix, timeout=10)
    calls = [asyncio.ensure_future(client.slow(0.1)) for _ in range(10)]
    stats = handler.stats()["slow"]
    await eventually(lambda: stats.in_flight + stats.queued == 10, what="all accepted")
    await handler.shutdown()
    assert stats.num_requests == 10  # every reply sent before shutdown returned
    results = await asyncio.wait_for(asyncio.gather(*calls), 2)
    assert sorted(results) == list(range(1, 11))
    assert ops.finished == 10 and ops.max_in_flight == 2
    with pytest.raises(autonats.NoRespondersError):
        await client.slow(0)
    await handler.shutdown()  # twice is harmless


async def test_async_with_drains_on_exit(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    client = RtOpsClient(nc, prefix=prefix, timeout=10)
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        calls = [asyncio.ensure_future(client.slow(0.2)) for _ in range(5)]
        stats = handler.stats()["slow"]
        await eventually(lambda: stats.in_flight + stats.queued == 5, what="accepted")
    assert stats.num_requests == 5
    assert sorted(await asyncio.wait_for(asyncio.gather(*calls), 2)) == [1, 2, 3, 4, 5]
    with pytest.raises(autonats.NoRespondersError):
        await client.slow(0)


async def test_shutdown_with_oneway_calls_in_flight(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=1):
        client = RtOpsClient(nc, prefix=prefix)
        for i in range(30):
            await client.note(str(i))
        await nc.flush()
        await hnc.flush()  # the handler's connection has seen them all
    assert len(ops.notes) == 30


async def test_many_concurrent_calls_all_answered(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=20):
        client = RtOpsClient(nc, prefix=prefix, timeout=10)
        gate = asyncio.Semaphore(100)

        async def one() -> float:
            async with gate:
                return await client.remaining()

        results = await asyncio.wait_for(
            asyncio.gather(*(one() for _ in range(500))), 20
        )
    assert len(results) == 500 and all(r > 0 for r in results)
    assert len(ops.deadlines) == 500


async def test_a_closed_connection_is_not_kept_alive_by_its_clients(
    nats_url: str, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtOpsHandler(hnc, Ops(), prefix=prefix):
        conn = await nats.connect(nats_url)
        assert await RtOpsClient(conn, prefix=prefix).slow(0) == 1
        gone = weakref.ref(conn)
        await conn.close()
        del conn
        for _ in range(20):  # the connection's tasks end within a few loop turns
            gc.collect()
            if gone() is None:
                break
            await asyncio.sleep(0.05)
    assert gone() is None
