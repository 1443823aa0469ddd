"""A stream as docs/protocol.md (section 11) specifies it, read and driven by
plain nats-py as a client in another language would: the open message, items
without headers, credit in items and bytes, heartbeats, end, cancel, the
errors, and what the handler does with a client that falls silent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import nats.aio.client
import nats.aio.msg
import pytest

from rt_helpers import error_of, eventually
from rt_streams_impl import Feed
from rt_streams_nats import RtFeedHandler

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


class Raw:
    """One stream opened by hand: every message the handler sends, in order."""

    def __init__(self, nc: nats.aio.client.Client) -> None:
        self.nc = nc
        self.inbox = nc.new_inbox()
        self.messages: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()

    async def open(self, subject: str, body: dict[str, object], **headers: str) -> None:
        async def collect(msg: nats.aio.msg.Msg) -> None:
            await self.messages.put(msg)

        await self.nc.subscribe(self.inbox, cb=collect)
        await self.nc.publish(
            subject, json.dumps(body).encode(), reply=self.inbox, headers=headers
        )

    async def next(self, timeout: float = 5.0) -> nats.aio.msg.Msg:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def quiet(self, seconds: float) -> list[nats.aio.msg.Msg]:
        """Whatever arrives within ``seconds``."""
        await asyncio.sleep(seconds)
        found = []
        while not self.messages.empty():
            found.append(self.messages.get_nowait())
        return found


def _kind(msg: nats.aio.msg.Msg) -> str | None:
    return (msg.headers or {}).get("Autonats-Stream")


async def test_open_items_credit_heartbeat_and_cancel(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    raw = Raw(nc)
    await raw.open(
        f"{prefix}.rt-feed.v1.endless", {"tag": "w"}, **{"Autonats-Credit": "3"}
    )
    opened = await raw.next()
    assert _kind(opened) == "open" and opened.data == b""
    control = opened.headers["Autonats-Control"]  # type: ignore[index]
    instance = handler.service.id
    assert control.startswith(f"{prefix}.rt-feed.v1.endless.{instance}.")
    items = [await raw.next() for _ in range(3)]
    assert all(m.headers is None and m.data == b'""' for m in items)
    # The credit is spent: nothing but a heartbeat within a second or so.
    later = await raw.quiet(1.6)
    assert [_kind(m) for m in later] == ["heartbeat"] * len(later) and later
    assert later[0].headers["Autonats-Items"] == "3"  # type: ignore[index]
    assert feed.made["w"] <= 4  # one item ready at most, never sent
    # Credit is a total: 5 means two more. Sent twice, it still means two more.
    for _ in range(2):
        await nc.publish(
            control, b"", headers={"Autonats-Stream": "credit", "Autonats-Credit": "5"}
        )
    more = [m for m in await raw.quiet(0.5) if m.headers is None]
    assert len(more) == 2
    # Cancel stops the generator, and nothing follows (a second cancel is harmless).
    for _ in range(2):
        await nc.publish(control, b"", headers={"Autonats-Stream": "cancel"})
    await eventually(lambda: "w" in feed.ends, what="the generator's finally")
    assert [m for m in await raw.quiet(0.3) if _kind(m) != "heartbeat"] == []
    served = handler.stats()["endless"]
    assert (served.num_requests, served.num_errors) == (1, 0)


async def test_a_finite_stream_ends_with_its_count(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler
) -> None:
    raw = Raw(nc)
    await raw.open(f"{prefix}.rt-feed.v1.count", {"n": 4}, **{"Autonats-Credit": "100"})
    assert _kind(await raw.next()) == "open"
    assert [json.loads((await raw.next()).data) for _ in range(4)] == [0, 1, 2, 3]
    end = await raw.next()
    assert _kind(end) == "end" and end.data == b""
    assert end.headers["Autonats-Items"] == "4"  # type: ignore[index]


async def test_byte_credit_lets_one_item_cross_it(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler
) -> None:
    raw = Raw(nc)
    headers = {"Autonats-Credit": "100", "Autonats-Credit-Bytes": "25"}
    await raw.open(f"{prefix}.rt-feed.v1.endless", {"size": 8, "tag": "b"}, **headers)
    assert _kind(await raw.next()) == "open"
    items = [m for m in await raw.quiet(0.5) if m.headers is None]
    # Items of 10 bytes ("xxxxxxxx" quoted): sent at 0, 10 and 20 bytes, then
    # 30 >= 25 stops it.
    assert [len(m.data) for m in items] == [10, 10, 10]


async def test_a_declared_error_follows_the_items_as_an_error_reply(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler
) -> None:
    raw = Raw(nc)
    await raw.open(
        f"{prefix}.rt-feed.v1.count", {"n": 9, "fail_at": 2}, **{"Autonats-Credit": "9"}
    )
    assert _kind(await raw.next()) == "open"
    assert [(await raw.next()).data for _ in range(2)] == [b"0", b"1"]
    code, message, body = error_of(await raw.next())
    assert (code, message) == (410, "exhausted after 2")
    assert body == {
        "type": "Exhausted",
        "code": 410,
        "message": "exhausted after 2",
        "fields": {"after": 2},
    }


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "the Autonats-Credit header must be a count of items, 1 to 18 digits"),
        ({"Autonats-Credit": "-1"}, "Autonats-Credit"),
        ({"Autonats-Credit": "1", "Autonats-Credit-Bytes": "x"}, "Credit-Bytes"),
        ({"Autonats-Credit": "1", "Autonats-Timeout": "1.5"}, "Autonats-Timeout"),
    ],
)
async def test_malformed_stream_headers_are_400_without_running(
    nc: nats.aio.client.Client,
    prefix: str,
    handler: RtFeedHandler,
    feed: Feed,
    headers: dict[str, str],
    why: str,
) -> None:
    raw = Raw(nc)
    await raw.open(f"{prefix}.rt-feed.v1.endless", {"tag": "bad"}, **headers)
    code, message, body = error_of(await raw.next())
    assert (code, body["type"]) == (400, "BadRequest")
    assert why in message
    assert "bad" not in feed.running


async def test_the_whole_stream_deadline_ends_it_with_504(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    raw = Raw(nc)
    headers = {"Autonats-Credit": "1000", "Autonats-Timeout": "300"}
    await raw.open(f"{prefix}.rt-feed.v1.pause", {"every": 0.05}, **headers)
    started = time.monotonic()
    assert _kind(await raw.next()) == "open"
    while True:
        msg = await raw.next()
        if msg.headers and "Nats-Service-Error-Code" in msg.headers:
            break
    assert 0.25 < time.monotonic() - started < 2.0
    code, _, body = error_of(msg)
    assert (code, body["type"]) == (504, "DeadlineExceeded")
    await eventually(lambda: "pause" in feed.ends, what="the generator's finally")


async def test_a_client_that_falls_silent_is_given_up(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    """No credit and no heartbeat for 5 s: the handler ends the stream (408),
    runs the generator's finally and frees the slot."""
    raw = Raw(nc)
    await raw.open(
        f"{prefix}.rt-feed.v1.endless", {"tag": "gone"}, **{"Autonats-Credit": "2"}
    )
    started = time.monotonic()
    await eventually(lambda: "gone" in feed.ends, timeout=10, what="the give-up")
    assert 4.5 < time.monotonic() - started < 8.0
    messages = await raw.quiet(0.2)
    code, _, body = error_of(messages[-1])
    assert (code, body["type"]) == (408, "Abandoned")
    served = handler.stats()["endless"]
    assert (served.in_flight, served.num_errors) == (0, 1)


async def test_a_stream_published_without_a_reply_subject_is_refused(
    nc: nats.aio.client.Client, prefix: str, handler: RtFeedHandler, feed: Feed
) -> None:
    await nc.publish(f"{prefix}.rt-feed.v1.endless", b'{"tag": "x"}')
    await eventually(lambda: handler.stats()["endless"].num_errors == 1)
    assert handler.stats()["endless"].last_error.startswith("400:a stream needs")
    assert "x" not in feed.running
