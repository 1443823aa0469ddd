"""The blocking client: ``autonats.sync.connect()`` and ``<Name>SyncClient``
from plain threads, a stream as an iterator, timeouts and errors as in the
async client, refusal inside an event loop, closing, and a WSGI app."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import autonats
import autonats.sync
import pytest
from support import wait_until

from rt_streams import Exhausted
from rt_streams_impl import Feed
from rt_streams_nats import RtFeedHandler, RtFeedSyncClient

pytestmark = [pytest.mark.timeout(120)]


class _Served:
    """A handler of ``rt-feed`` on an event loop in a thread of its own, so
    that the tests themselves run in plain threads, as sync code does."""

    def __init__(self, url: str, prefix: str) -> None:
        self.feed = Feed()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(url, prefix))
        self.stop: asyncio.Event | None = None
        self.handler: RtFeedHandler | None = None
        self.thread.start()
        assert self.ready.wait(30), "the handler did not start"

    def _run(self, url: str, prefix: str) -> None:
        async def main() -> None:
            import nats

            nc = await nats.connect(url)
            self.stop = asyncio.Event()
            async with RtFeedHandler(nc, self.feed, prefix=prefix) as handler:
                self.handler = handler
                await nc.flush()
                self.ready.set()
                await self.stop.wait()
            await nc.close()

        self.loop.run_until_complete(main())
        self.loop.close()

    def in_flight(self, method: str) -> int:
        assert self.handler is not None
        return self.handler.stats()[method].in_flight

    def close(self) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@pytest.fixture
def served(nats_url: str, prefix: str) -> Iterator[_Served]:
    handler = _Served(nats_url, prefix)
    try:
        yield handler
    finally:
        handler.close()


@pytest.fixture
def conn(nats_url: str) -> Iterator[autonats.sync.Connection]:
    with autonats.sync.connect(nats_url) as connection:
        yield connection


@pytest.fixture
def feed(
    served: _Served, conn: autonats.sync.Connection, prefix: str
) -> RtFeedSyncClient:
    return RtFeedSyncClient(conn, prefix=prefix)


def test_a_call_blocks_for_its_typed_result(feed: RtFeedSyncClient) -> None:
    assert feed.double(21) == 42
    assert feed.sleep(0.01) == 0.01


def test_8_threads_make_1000_calls_each(feed: RtFeedSyncClient) -> None:
    def worker(base: int) -> list[int]:
        return [feed.double(base + i) for i in range(1000)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(0, 8000, 1000)))
    assert [x for r in results for x in r] == [2 * i for i in range(8000)]


def test_a_declared_error_is_the_same_class(feed: RtFeedSyncClient) -> None:
    with pytest.raises(Exhausted) as info:
        feed.fail(7)
    assert (info.value.after, info.value.message) == (7, "exhausted after 7")


def test_the_timeout_is_the_async_clients(
    served: _Served, conn: autonats.sync.Connection, prefix: str
) -> None:
    quick = RtFeedSyncClient(conn, prefix=prefix, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(autonats.TimeoutError) as info:
        quick.sleep(2.0)
    assert isinstance(info.value, TimeoutError)  # the builtin too
    assert time.monotonic() - started < 1.5


def test_no_responders_at_once(conn: autonats.sync.Connection) -> None:
    client = RtFeedSyncClient(conn, prefix="nobody-serves-this")
    with pytest.raises(autonats.NoRespondersError):
        client.double(1)


def test_a_stream_is_a_plain_iterator(feed: RtFeedSyncClient) -> None:
    assert list(feed.count(1000)) == list(range(1000))
    records = list(feed.records(2))
    assert str(records[1].price) == "0.25"


def test_a_stream_raises_its_error_after_its_items(feed: RtFeedSyncClient) -> None:
    got = []
    with pytest.raises(Exhausted):
        for item in feed.count(10, fail_at=4):
            got.append(item)
    assert got == [0, 1, 2, 3]


def test_closing_a_stream_early_stops_the_generator(
    feed: RtFeedSyncClient, served: _Served
) -> None:
    with feed.endless(tag="sync") as items:
        for i, _ in enumerate(items):
            if i == 10:
                break
    closed = time.monotonic()
    wait_until(lambda: "sync" in served.feed.ends, what="the generator's finally")
    assert served.feed.ends["sync"][0] - closed < 0.5


def test_a_dropped_stream_stops_the_generator(
    feed: RtFeedSyncClient, served: _Served
) -> None:
    for i, _ in enumerate(feed.endless(tag="dropped")):
        if i == 3:
            break
    wait_until(lambda: "dropped" in served.feed.ends, what="the generator's finally")


def test_a_blocking_call_in_an_event_loop_is_refused(feed: RtFeedSyncClient) -> None:
    async def inside() -> None:
        with pytest.raises(RuntimeError, match="would block the event loop"):
            feed.double(1)
        with pytest.raises(RuntimeError, match="would block the event loop"):
            next(iter(feed.count(3)))
        with pytest.raises(RuntimeError, match=r"autonats\.sync\.connect"):
            autonats.sync.connect("nats://127.0.0.1:1")

    asyncio.run(inside())
    assert feed.double(2) == 4  # nothing was left half-done


def test_closing_the_connection(served: _Served, nats_url: str, prefix: str) -> None:
    conn = autonats.sync.connect(nats_url)
    # The handler gives the call up after 2 s: its slot is free soon after.
    client = RtFeedSyncClient(conn, prefix=prefix, timeout=2.0)
    in_flight: concurrent.futures.Future[float]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(client.sleep, 10.0)
        wait_until(lambda: served.in_flight("sleep") == 1, what="the call")
        items = client.endless(tag="open")
        next(items)
        conn.close()
        conn.close()  # idempotent
        with pytest.raises(autonats.ConnectionError):
            in_flight.result(10)
    with pytest.raises(autonats.ConnectionError):
        client.double(1)
    wait_until(lambda: "open" in served.feed.ends, what="the open stream to stop")
    assert conn.closed


def test_connecting_nowhere_fails_clearly() -> None:
    async def quiet(error: Exception) -> None:
        pass  # nats-py would log each attempt with a traceback

    with pytest.raises(autonats.ConnectionError):
        autonats.sync.connect(
            "nats://127.0.0.1:1",
            connect_timeout=0.5,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            error_cb=quiet,
        )
    # The thread it started is gone.
    wait_until(
        lambda: not any(t.name == "autonats-sync" for t in threading.enumerate()),
        what="the connection's thread to stop",
    )


def test_a_sync_client_needs_a_sync_connection() -> None:
    with pytest.raises(TypeError, match=r"autonats\.sync\.connect"):
        RtFeedSyncClient(object())  # type: ignore[arg-type]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_wsgi_app_calls_the_service(feed: RtFeedSyncClient) -> None:
    """A plain WSGI app (the standard library's server, a thread per request)
    calls the service through the blocking client."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"].strip("/")
        try:
            if path.startswith("double/"):
                body: Any = {"result": feed.double(int(path.split("/")[1]))}
            elif path.startswith("count/"):
                body = {"items": list(feed.count(int(path.split("/")[1])))}
            else:
                feed.fail(int(path.split("/")[1]))
                body = {}
        except Exhausted as exc:
            start_response("410 Gone", [("Content-Type", "application/json")])
            return [json.dumps({"error": exc.message}).encode()]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_Quiet
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:

        def get(path: str) -> tuple[int, Any]:
            try:
                with urllib.request.urlopen(base + path, timeout=20) as response:
                    return response.status, json.load(response)
            except urllib.error.HTTPError as error:
                return error.code, json.load(error)

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            doubled = list(pool.map(get, [f"/double/{i}" for i in range(40)]))
        assert doubled == [(200, {"result": 2 * i}) for i in range(40)]
        assert get("/count/5") == (200, {"items": [0, 1, 2, 3, 4]})
        assert get("/fail/3") == (410, {"error": "exhausted after 3"})
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
