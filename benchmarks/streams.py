"""Streams and the blocking client, measured against what they replace.

- **Stream items/s**: the generated client reads ``items(n, item)`` of
  benchmarks/feed.py (the handler's async generator yields a 100-byte
  ``Item`` n times) against a
  hand-written raw nats-py publish loop doing the same delivery without a
  handshake or flow control: one request, then n publishes to the caller's
  inbox and an end marker. Both encode every item on the handler and decode
  it into an ``Item`` on the client, inside the timing. Beside them, the
  same items fetched with one request/reply call each (autonats ``echo`` at
  one in flight): what a stream saves.
- **Blocking calls/s**: ``BenchSyncClient.echo`` from a plain thread against
  ``BenchClient.echo`` awaited in an event loop, one call in flight.

The handlers run in a child process (``python -m benchmarks.streams serve
URL``), so producer and consumer each have a core, as in production. Runs are
interleaved (raw, autonats, raw, ...) so that noise spreads over both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import autonats.sync
import msgspec
import nats
import nats.aio.client
import nats.aio.msg

from benchmarks.echo import Item, make_item

__all__ = ["SYNC_TARGET", "STREAM_TARGET", "Row", "StreamResults", "run_streams"]

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench-streams"
RAW_SUBJECT = f"{PREFIX}.raw.items"
RAW_ECHO = f"{PREFIX}.raw.echo"
#: Targets of issue 14, as ratios.
STREAM_TARGET = 0.7
SYNC_TARGET = 0.8
WATCHDOG = 120.0

_encode = msgspec.json.Encoder().encode
_decode_item = msgspec.json.Decoder(Item).decode


class _Request(msgspec.Struct):
    n: int
    item: Item


@dataclass
class Row:
    """The runs of one way of doing it: rates (per second) of each run."""

    label: str
    unit: str
    runs: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(self.runs) if self.runs else 0.0


@dataclass
class StreamResults:
    """Every row, and how big each run was."""

    items: int
    calls: int
    repeats: int
    raw: Row = field(default_factory=lambda: Row("raw nats-py publish loop", "items"))
    stream: Row = field(default_factory=lambda: Row("autonats stream", "items"))
    async_calls: Row = field(
        default_factory=lambda: Row("async client (BenchClient)", "calls")
    )
    sync_calls: Row = field(
        default_factory=lambda: Row("blocking client (BenchSyncClient)", "calls")
    )
    raw_async_calls: Row = field(
        default_factory=lambda: Row("raw nats-py request", "calls")
    )
    raw_sync_calls: Row = field(
        default_factory=lambda: Row(
            "raw nats-py request, blocking on autonats.sync's thread", "calls"
        )
    )
    #: Microseconds per round trip between two plain Python threads passing a
    #: lock (what waking a thread costs on this machine), of each run.
    thread_round_trip_us: list[float] = field(default_factory=list)
    #: Microseconds per blocking run of a coroutine that returns at once.
    empty_blocking_us: list[float] = field(default_factory=list)

    @property
    def unary(self) -> Row:
        """The same items by request/reply, one call each (the async calls)."""
        return Row(
            "autonats request/reply, one per item", "items", self.async_calls.runs
        )

    @property
    def stream_ratio(self) -> float:
        return self.stream.rate / self.raw.rate if self.raw.rate else 0.0

    @property
    def raw_sync_ratio(self) -> float:
        """What blocking costs raw nats-py: the floor of any blocking client."""
        return (
            self.raw_sync_calls.rate / self.raw_async_calls.rate
            if self.raw_async_calls.rate
            else 0.0
        )

    @property
    def sync_ratio(self) -> float:
        return (
            self.sync_calls.rate / self.async_calls.rate
            if self.async_calls.rate
            else 0.0
        )


# -- the handler process --------------------------------------------------------


class _Echo:
    async def echo(self, item: Item) -> Item:
        return item

    async def notify(self, item: Item) -> None:
        pass


class _Feed:
    async def items(self, n: int, item: Item) -> AsyncIterator[Item]:
        for _ in range(n):
            yield item


async def _serve(url: str) -> None:
    from benchmarks.echo_nats import BenchHandler
    from benchmarks.feed_nats import BenchFeedHandler

    nc = await nats.connect(url, max_reconnect_attempts=0, name="bench-streams")

    async def raw(msg: nats.aio.msg.Msg) -> None:
        request = msgspec.json.decode(msg.data, type=_Request)
        for _ in range(request.n):
            await nc.publish(msg.reply, _encode(request.item))
        await nc.publish(msg.reply, b"", headers={"End": "1"})

    async def echo(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(_encode(_decode_item(msg.data)))

    await nc.subscribe(RAW_SUBJECT, cb=raw)
    await nc.subscribe(RAW_ECHO, cb=echo)
    async with (
        BenchHandler(nc, _Echo(), prefix=PREFIX),
        BenchFeedHandler(nc, _Feed(), prefix=PREFIX),
    ):
        await nc.flush()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        # Until the parent closes our standard input (or dies).
        await loop.run_in_executor(None, sys.stdin.buffer.read)
    await nc.close()


# -- the measuring side ------------------------------------------------------------


async def _raw_stream(nc: nats.aio.client.Client, n: int, item: Item) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    count = 0

    async def on_item(msg: nats.aio.msg.Msg) -> None:
        nonlocal count
        if msg.headers:
            done.set_result(None)
            return
        _decode_item(msg.data)
        count += 1

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_item)
    started = time.perf_counter()
    await nc.publish(RAW_SUBJECT, _encode(_Request(n, item)), reply=inbox)
    await asyncio.wait_for(done, WATCHDOG)
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    if count != n:
        raise AssertionError(f"raw stream: {count} items of {n}")
    return n / elapsed


async def _autonats_stream(client: object, n: int, item: Item) -> float:
    from benchmarks.feed_nats import BenchFeedClient

    assert isinstance(client, BenchFeedClient)
    count = 0
    same = True
    started = time.perf_counter()
    async for got in client.items(n, item):
        count += 1
        same = same and (count > 1 or got == item)
    elapsed = time.perf_counter() - started
    if count != n or not same:
        raise AssertionError(f"autonats stream: {count} items of {n}")
    return n / elapsed


async def _async_calls(client: object, calls: int, item: Item) -> float:
    from benchmarks.echo_nats import BenchClient

    assert isinstance(client, BenchClient)
    started = time.perf_counter()
    for _ in range(calls):
        if await client.echo(item) != item:
            raise AssertionError("the reply is not the request")
    return calls / (time.perf_counter() - started)


def _thread_round_trip_us(trips: int) -> float:
    """Two plain threads passing a lock back and forth: us per round trip."""
    ping, pong = threading.Lock(), threading.Lock()
    ping.acquire()
    pong.acquire()

    def other() -> None:
        for _ in range(trips):
            ping.acquire()
            pong.release()

    thread = threading.Thread(target=other)
    thread.start()
    started = time.perf_counter()
    for _ in range(trips):
        ping.release()
        pong.acquire()
    elapsed = time.perf_counter() - started
    thread.join()
    return elapsed / trips * 1e6


async def _nothing() -> None:
    return None


def _empty_blocking_us(conn: autonats.sync.Connection, runs: int) -> float:
    """``conn.run()`` of a coroutine that returns at once: us per run."""
    started = time.perf_counter()
    for _ in range(runs):
        conn.run(_nothing())
    return (time.perf_counter() - started) / runs * 1e6


async def _raw_async_calls(nc: nats.aio.client.Client, calls: int, item: Item) -> float:
    payload = _encode(item)
    started = time.perf_counter()
    for _ in range(calls):
        msg = await nc.request(RAW_ECHO, payload, timeout=WATCHDOG)
        if _decode_item(msg.data) != item:
            raise AssertionError("the reply is not the request")
    return calls / (time.perf_counter() - started)


def _raw_sync_calls(conn: autonats.sync.Connection, calls: int, item: Item) -> float:
    """Raw nats-py requests, each run from this thread on the connection's."""
    payload = _encode(item)
    started = time.perf_counter()
    for _ in range(calls):
        msg = conn.run(conn.nc.request(RAW_ECHO, payload, timeout=WATCHDOG))
        if _decode_item(msg.data) != item:
            raise AssertionError("the reply is not the request")
    return calls / (time.perf_counter() - started)


def _sync_calls(conn: autonats.sync.Connection, calls: int, item: Item) -> float:
    from benchmarks.echo_nats import BenchSyncClient

    client = BenchSyncClient(conn, prefix=PREFIX)
    started = time.perf_counter()
    for _ in range(calls):
        if client.echo(item) != item:
            raise AssertionError("the reply is not the request")
    return calls / (time.perf_counter() - started)


async def _measure_async(url: str, results: StreamResults, warm: bool) -> None:
    from benchmarks.echo_nats import BenchClient
    from benchmarks.feed_nats import BenchFeedClient

    item = make_item(100)
    nc = await nats.connect(url, max_reconnect_attempts=0, name="bench-streams")
    try:
        client = BenchClient(nc, prefix=PREFIX)
        feed = BenchFeedClient(nc, prefix=PREFIX)
        n, calls = results.items, results.calls
        if warm:  # one of each, unrecorded
            await _raw_stream(nc, min(n, 1000), item)
            await _autonats_stream(feed, min(n, 1000), item)
            await _async_calls(client, min(calls, 100), item)
            await _raw_async_calls(nc, min(calls, 100), item)
        results.raw.runs.append(await _raw_stream(nc, n, item))
        results.stream.runs.append(await _autonats_stream(feed, n, item))
        results.async_calls.runs.append(await _async_calls(client, calls, item))
        results.raw_async_calls.runs.append(await _raw_async_calls(nc, calls, item))
    finally:
        await nc.close()


def run_streams(
    url: str,
    *,
    items: int = 200_000,
    calls: int = 3_000,
    repeats: int = 3,
    progress: Callable[[str], None] | None = None,
) -> StreamResults:
    """Measure every row ``repeats`` times against the nats-server at ``url``."""
    results = StreamResults(items, calls, repeats)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.streams", "serve", url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline() != b"ready\n":
            raise RuntimeError("the streams handler process did not start")
        item = make_item(100)
        with autonats.sync.connect(url, max_reconnect_attempts=0) as conn:
            for repeat in range(repeats):
                asyncio.run(_measure_async(url, results, warm=repeat == 0))
                if repeat == 0:
                    _sync_calls(conn, min(calls, 100), item)
                    _raw_sync_calls(conn, min(calls, 100), item)
                results.sync_calls.runs.append(_sync_calls(conn, calls, item))
                results.raw_sync_calls.runs.append(_raw_sync_calls(conn, calls, item))
                results.thread_round_trip_us.append(_thread_round_trip_us(calls))
                results.empty_blocking_us.append(_empty_blocking_us(conn, calls))
                if progress is not None:
                    progress(
                        f"streams run {repeat + 1}/{repeats}: "
                        f"stream {results.stream.runs[-1]:,.0f} items/s "
                        f"(raw {results.raw.runs[-1]:,.0f}), blocking "
                        f"{results.sync_calls.runs[-1]:,.0f} calls/s "
                        f"(async {results.async_calls.runs[-1]:,.0f})"
                    )
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streams")
    parser.add_argument("mode", choices=["serve"])
    parser.add_argument("url")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
