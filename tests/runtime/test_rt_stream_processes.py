"""Streams between processes: a handler killed mid-stream, a client killed
mid-stream, and a slow consumer of an endless stream whose memory stays
bounded on both sides."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import autonats
import nats.aio.client
import pytest
from autonats.contract import wire
from support import ServeProcess, rss_mb

from rt_helpers import eventually
from rt_streams_impl import Feed
from rt_streams_nats import RtFeedClient, RtFeedHandler

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

RUNTIME = Path(__file__).resolve().parent

#: How much later than the documented bound an outcome may come, on two
#: shared cores.
SLACK = 2.0


@pytest.fixture
def spawn(
    nats_url: str, prefix: str, tmp_path: Path
) -> Iterator[Callable[[], ServeProcess]]:
    """``spawn()`` starts ``autonats serve rt_streams_impl:Feed``; killed after the test."""
    started: list[ServeProcess] = []

    def start() -> ServeProcess:
        served = ServeProcess(
            "rt_streams_impl:Feed",
            "--server",
            nats_url,
            "--prefix",
            prefix,
            cwd=RUNTIME,
            log=tmp_path / f"serve{len(started)}.log",
        )
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


async def test_a_handler_killed_mid_stream_is_an_error_within_the_bound(
    spawn: Callable[[], ServeProcess], nc: nats.aio.client.Client, prefix: str
) -> None:
    served = await spawn().wait_serving()
    client = RtFeedClient(nc, prefix=prefix)
    got = []
    killed_at = 0.0

    async def read() -> None:
        nonlocal killed_at
        async for item in client.pause(0.02):
            got.append(item)
            if item == 5:
                served.process.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()

    # Whichever comes first: the item timeout (5 s, the method's) or the
    # handler's silence (5 s since the last message: an item 20 ms before).
    with pytest.raises(autonats.TimeoutError, match=r"went silent|no item within 5 s"):
        await asyncio.wait_for(read(), wire.PEER_TIMEOUT + 15)  # never a hang
    waited = time.monotonic() - killed_at
    assert wire.PEER_TIMEOUT - 0.5 < waited < wire.PEER_TIMEOUT + SLACK, waited
    assert got[:6] == [0, 1, 2, 3, 4, 5]
    assert client._client.stats()["pause"].outcomes == {"timeout": 1}


async def test_a_client_killed_mid_stream_is_given_up_within_the_bound(
    hnc: nats.aio.client.Client, nats_url: str, prefix: str, tmp_path: Path
) -> None:
    feed = Feed()
    async with RtFeedHandler(hnc, feed, prefix=prefix) as handler:
        await hnc.flush()
        script = tmp_path / "reader.py"
        script.write_text(
            textwrap.dedent(
                f"""
                import asyncio, nats
                from rt_streams_nats import RtFeedClient

                async def main():
                    nc = await nats.connect({nats_url!r})
                    client = RtFeedClient(nc, prefix={prefix!r}, stream_window=4)
                    read = 0
                    async for _ in client.endless(tag="orphan"):
                        read += 1
                        if read == 5:
                            print("reading", flush=True)
                            await asyncio.sleep(3600)

                asyncio.run(main())
                """
            )
        )
        env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
        reader = subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE, env=env, cwd=RUNTIME
        )
        try:
            assert reader.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(reader.stdout.readline), 30)
            assert line == b"reading\n"
            await asyncio.sleep(1.5)  # heartbeats keep a live client's stream open
            assert feed.running["orphan"] == 1
            reader.kill()
            killed_at = time.monotonic()
        finally:
            reader.kill()
            reader.wait()
            if reader.stdout is not None:
                reader.stdout.close()
        await eventually(
            lambda: "orphan" in feed.ends,
            timeout=wire.PEER_TIMEOUT + 10,
            what="the handler to give the stream up",
        )
        # Silence is counted from the client's last heartbeat, up to a
        # heartbeat interval before it died.
        waited = feed.ends["orphan"][0] - killed_at
        low = wire.PEER_TIMEOUT - wire.HEARTBEAT_INTERVAL - 0.5
        assert low < waited < wire.PEER_TIMEOUT + SLACK, waited
        assert feed.made["orphan"] <= 5 + 4 + 1  # never past the credit
        stats = handler.stats()["endless"]
        assert (stats.in_flight, stats.last_error[:4]) == (0, "408:")


async def _read_slowly(
    items: AsyncIterator[str], seconds: float, pause: float
) -> AsyncIterator[int]:
    """Read one item per ``pause`` for ``seconds``; yield the count read so far
    every second."""
    read = 0
    ends = time.monotonic() + seconds
    next_report = time.monotonic() + 1.0
    async for _ in items:
        read += 1
        await asyncio.sleep(pause)
        if time.monotonic() >= next_report:
            next_report += 1.0
            yield read
        if time.monotonic() >= ends:
            yield read
            return


async def test_a_slow_consumer_keeps_both_processes_memory_bounded(
    spawn: Callable[[], ServeProcess], nc: nats.aio.client.Client, prefix: str
) -> None:
    """The handler could produce items of 1 kB far faster than they are read
    (hundreds of MB over the run): it produces only what the credit allows,
    and neither process grows."""
    served = await spawn().wait_serving()
    client = RtFeedClient(nc, prefix=prefix)
    window = client._client.stream_window
    samples: list[tuple[int, float, float, int]] = []
    async with client.endless(size=1000, tag="mem") as items:
        async for read in _read_slowly(items, seconds=6.0, pause=0.002):
            produced = await client.produced("mem")
            samples.append((read, rss_mb(os.getpid()), rss_mb(served.pid), produced))
    assert len(samples) >= 4, samples
    for read, _, _, produced in samples:
        # A window ahead of the reader at most (and the item being made).
        assert produced <= read + window + 1, samples
    first, last = samples[1], samples[-1]  # after the first second: warmed up
    assert last[1] - first[1] < 25, f"client grew: {samples}"
    assert last[2] - first[2] < 25, f"handler grew: {samples}"
    await _closed(client)


async def _closed(client: RtFeedClient) -> None:
    """The handler ran the generator's finally once the client left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while await client.closed("mem") != 1:
        assert loop.time() < deadline, "the generator was not closed"
        await asyncio.sleep(0.05)
