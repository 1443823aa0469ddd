"""Server streams through the generated client and handler: every item in
order, errors after the items before them, early exits that stop the
handler's generator, deadlines, concurrency limits and shutdown."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator

import autonats
import nats.aio.client
import pytest
from autonats.runtime.context import _current

from rt_helpers import eventually
from rt_streams import Exhausted
from rt_streams_impl import Feed
from rt_streams_nats import RtFeedClient, RtFeedHandler

pytestmark = [pytest.mark.timeout(90)]


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
async def handler(
    hnc: nats.aio.client.Client, feed: Feed, prefix: str
) -> AsyncIterator[RtFeedHandler]:
    async with RtFeedHandler(hnc, feed, prefix=prefix) as served:
        await hnc.flush()
        yield served


@pytest.fixture
def client(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler
) -> RtFeedClient:
    return RtFeedClient(nc, prefix=prefix)


async def test_100_000_items_arrive_in_order_as_one_call(
    client: RtFeedClient, handler: RtFeedHandler
) -> None:
    expected = 0
    async for item in client.count(100_000):
        assert item == expected
        expected += 1
    assert expected == 100_000
    assert client._client.stats()["count"].outcomes == {"ok": 1}
    served = handler.stats()["count"]
    assert (served.num_requests, served.num_errors, served.in_flight) == (1, 0, 0)


async def test_typed_items_decode_to_their_declared_type(client: RtFeedClient) -> None:
    records = [r async for r in client.records(3)]
    assert [str(r.price) for r in records] == ["0", "0.25", "0.5"]
    assert records[2].at.day == 3


async def test_an_empty_stream_just_ends(client: RtFeedClient, feed: Feed) -> None:
    assert [i async for i in client.count(0)] == []
    assert len(feed.ends["count"]) == 1


async def test_break_after_10_items_stops_the_generator_within_100_ms(
    client: RtFeedClient, feed: Feed
) -> None:
    seen = 0
    async for _ in client.endless(tag="brk"):
        seen += 1
        if seen == 10:
            break
    left = time.monotonic()  # the stream is dropped here: nothing refers to it
    await eventually(lambda: "brk" in feed.ends, timeout=5, what="finally")
    assert feed.ends["brk"][0] - left < 0.1
    # Credit bounds how far the generator ran ahead of the consumer.
    assert feed.made["brk"] <= 10 + client._client.stream_window + 1
    await eventually(
        lambda: client._client.stats()["endless"].outcomes == {"cancelled": 1},
        what="the client to count the call",
    )


async def test_leaving_async_with_closes_at_once(
    client: RtFeedClient, feed: Feed, handler: RtFeedHandler
) -> None:
    async with client.endless(tag="with") as items:
        async for _ in items:
            break
        closed_at = time.monotonic()
    await eventually(lambda: "with" in feed.ends, timeout=5, what="finally")
    assert feed.ends["with"][0] - closed_at < 0.1
    await eventually(lambda: handler.stats()["endless"].in_flight == 0)
    served = handler.stats()["endless"]
    assert (served.num_requests, served.num_errors) == (1, 0)  # cancelled: no error


async def test_an_exception_in_the_loop_body_stops_the_generator(
    client: RtFeedClient, feed: Feed
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with client.endless(tag="boom") as items:
            async for _ in items:
                raise ZeroDivisionError
    await eventually(lambda: "boom" in feed.ends, timeout=5, what="finally")


async def test_cancelling_the_callers_task_stops_the_generator(
    client: RtFeedClient, feed: Feed
) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in client.pause(0.01):
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled = time.monotonic()
    await eventually(lambda: "pause" in feed.ends, timeout=5, what="finally")
    assert feed.ends["pause"][0] - cancelled < 0.5


async def test_a_declared_error_arrives_after_the_items_before_it(
    client: RtFeedClient, feed: Feed
) -> None:
    got = []
    with pytest.raises(Exhausted) as info:
        async for item in client.count(10, fail_at=5):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]
    assert (info.value.after, info.value.message) == (5, "exhausted after 5")
    assert client._client.stats()["count"].outcomes == {"410": 1}
    await eventually(lambda: "count" in feed.ends)


async def test_an_undeclared_error_is_internal_and_leaks_nothing(
    client: RtFeedClient, handler: RtFeedHandler
) -> None:
    got = []
    with pytest.raises(autonats.InternalServerError) as info:
        async for item in client.count(10, crash_at=3):
            got.append(item)
    assert got == [0, 1, 2]
    assert info.value.message == "internal error"
    assert "hunter2" not in str(info.value) and "secret" not in str(info.value)
    served = handler.stats()["count"]
    assert (served.num_errors, served.last_error) == (1, "500:internal error")


async def test_the_stream_raises_its_error_once_then_stops(
    client: RtFeedClient,
) -> None:
    stream = client.count(3, fail_at=1)
    assert await stream.__anext__() == 0
    with pytest.raises(Exhausted):
        await stream.__anext__()
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_the_timeout_bounds_the_wait_for_each_item(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    quick = RtFeedClient(nc, prefix=prefix, timeout=0.3)
    got = [i async for i in quick.pause(0.05, n=5)]  # each item well within it
    assert got == [0, 1, 2, 3, 4]
    started = time.monotonic()
    with pytest.raises(autonats.TimeoutError, match=r"no item within 0\.3 s"):
        async for _ in quick.pause(2.0):
            pass
    assert time.monotonic() - started < 1.5
    await eventually(lambda: len(feed.ends["pause"]) == 2, what="the stop")
    assert quick._client.stats()["pause"].outcomes == {"ok": 1, "timeout": 1}


async def test_a_deadline_of_the_call_being_served_bounds_the_whole_stream(
    client: RtFeedClient, handler: RtFeedHandler, feed: Feed
) -> None:
    # What a handler sets while it serves a call: the stream is a nested call.
    token = _current.set(("outer", "call", time.monotonic() + 0.5, {}))
    try:
        got = []
        started = time.monotonic()
        with pytest.raises(autonats.TimeoutError):
            async for item in client.pause(0.05):
                got.append(item)
        assert 0.4 < time.monotonic() - started < 2.0
        assert 3 <= len(got) <= 11
    finally:
        _current.reset(token)
    await eventually(lambda: "pause" in feed.ends, what="the generator to stop")


async def test_items_are_bounded_by_the_credit_of_a_slow_consumer(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    small = RtFeedClient(nc, prefix=prefix, stream_window=8)
    async with small.endless(tag="slow") as items:
        read = 0
        async for _ in items:
            read += 1
            await asyncio.sleep(0.01)
            # Never more than a window ahead of what was read.
            assert feed.made["slow"] <= read + 8
            if read == 50:
                break


async def test_the_byte_window_bounds_large_items(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    client = RtFeedClient(nc, prefix=prefix, stream_window_bytes=30_000)
    async with client.endless(size=10_000, tag="big") as items:
        async for _ in items:
            await asyncio.sleep(0.2)
            # 30 kB of credit: three 10 kB items, and the one that crosses it.
            assert feed.made["big"] <= 1 + 4
            break


async def test_concurrency_limits_count_open_streams(
    client: RtFeedClient, handler: RtFeedHandler, feed: Feed
) -> None:
    first, second, third = (client.limited(t) for t in ("a", "b", "c"))
    assert await first.__anext__() == 0
    assert await second.__anext__() == 0
    pending = asyncio.ensure_future(third.__anext__())
    await eventually(lambda: handler.stats()["limited"].queued == 1, what="queued")
    await asyncio.sleep(0.2)
    stats = handler.stats()["limited"]
    assert (stats.in_flight, stats.queued) == (2, 1)  # the third waits for a slot
    assert not pending.done() and "c" not in feed.running
    await first.aclose()
    assert await asyncio.wait_for(pending, 5) == 0  # it took the freed slot
    feed.gate.set()
    assert [i async for i in second] == [1]
    assert [i async for i in third] == [1]
    await eventually(lambda: handler.stats()["limited"].in_flight == 0)


async def test_many_concurrent_streams_all_finish(
    client: RtFeedClient, handler: RtFeedHandler
) -> None:
    async def one(n: int) -> list[int]:
        return [i async for i in client.count(n)]

    results = await asyncio.wait_for(
        asyncio.gather(*(one(n) for n in range(40))), 60
    )  # 40 streams, 5 slots: most wait in the queue
    assert results == [list(range(n)) for n in range(40)]
    assert handler.stats()["count"].num_requests == 40


async def test_a_stream_shed_with_503_is_retried_before_it_starts(
    hnc: nats.aio.client.Client,
    nc: nats.aio.client.Client,
    prefix: str,
    feed: Feed,
) -> None:
    async with RtFeedHandler(
        hnc, feed, prefix=prefix, concurrency=1, queue_size=0
    ) as h:
        await hnc.flush()
        client = RtFeedClient(nc, prefix=prefix)
        holder, later = client.limited("hold"), client.limited("later")
        assert await holder.__anext__() == 0
        waiting = asyncio.ensure_future(later.__anext__())
        await eventually(lambda: h.stats()["limited"].shed > 0, what="a 503")
        await holder.aclose()
        assert await asyncio.wait_for(waiting, 5) == 0  # retried, then started
        await later.aclose()


async def test_shutdown_ends_open_streams_after_their_items(
    hnc: nats.aio.client.Client,
    nc: nats.aio.client.Client,
    prefix: str,
    feed: Feed,
) -> None:
    handler = RtFeedHandler(hnc, feed, prefix=prefix)
    await handler.run()
    await hnc.flush()
    client = RtFeedClient(nc, prefix=prefix)
    got = []
    with pytest.raises(autonats.RemoteError) as info:
        async for item in client.pause(0.02):
            got.append(item)
            if item == 2:
                await asyncio.wait_for(handler.shutdown(), 10)
    assert got[:3] == [0, 1, 2]
    assert (info.value.code, info.value.type) == (503, "ShuttingDown")
    assert "pause" in feed.ends


async def test_a_stream_nobody_serves_fails_at_once(
    nc: nats.aio.client.Client,
) -> None:
    client = RtFeedClient(nc, prefix="nobody-serves-this")
    started = time.monotonic()
    with pytest.raises(autonats.NoRespondersError):
        async for _ in client.count(1):
            pass
    assert time.monotonic() - started < 2


async def test_wrong_arguments_fail_on_first_use(client: RtFeedClient) -> None:
    stream = client.count("three")  # type: ignore[arg-type]
    with pytest.raises(autonats.BadRequestError):
        await stream.__anext__()


async def test_a_stream_never_used_sends_nothing(
    client: RtFeedClient, handler: RtFeedHandler
) -> None:
    stream = client.count(5)
    del stream
    gc.collect()
    await asyncio.sleep(0.1)
    assert handler.stats()["count"].num_requests == 0


async def test_asend_none_and_athrow(client: RtFeedClient, feed: Feed) -> None:
    numbers = client.pause(0.01)
    assert await numbers.asend(None) == 0
    with pytest.raises(TypeError):
        await numbers.asend(1)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        await numbers.athrow(KeyError("stop"))
    await eventually(lambda: "pause" in feed.ends, what="finally")
    with pytest.raises(StopAsyncIteration):
        await numbers.__anext__()


def test_stream_window_must_be_positive(nc: nats.aio.client.Client) -> None:
    with pytest.raises(ValueError, match="stream_window"):
        RtFeedClient(nc, stream_window=0)
    with pytest.raises(ValueError, match="stream_window_bytes"):
        RtFeedClient(nc, stream_window_bytes=-1)


async def test_a_coroutine_implementing_a_stream_is_refused(
    hnc: nats.aio.client.Client,
) -> None:
    class Wrong(Feed):
        async def count(  # type: ignore[override]
            self, n: int, fail_at: int = -1, crash_at: int = -1
        ) -> list[int]:
            return list(range(n))

    with pytest.raises(TypeError, match="is a stream: make it an async generator"):
        RtFeedHandler(hnc, Wrong())
