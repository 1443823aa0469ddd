"""``autonats serve`` processes: sharing the load in the queue group, and draining
in-flight calls on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import autonats
import nats.aio.client
import pytest
from support import ServeProcess

from rt_api_nats import RtWorkerClient
from rt_helpers import eventually

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]

RUNTIME = Path(__file__).resolve().parent


@pytest.fixture
def spawn(
    nats_url: str, prefix: str, tmp_path: Path
) -> Iterator[Callable[[], ServeProcess]]:
    """``spawn()`` starts ``autonats serve rt_impl:Worker``; all are killed after the test."""
    started: list[ServeProcess] = []

    def start() -> ServeProcess:
        served = ServeProcess(
            "rt_impl:Worker",
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


@pytest.fixture
async def worker(
    nc: nats.aio.client.Client, prefix: str
) -> AsyncIterator[RtWorkerClient]:
    yield RtWorkerClient(nc, prefix=prefix, timeout=10)


async def test_two_processes_share_the_load(
    spawn: Callable[[], ServeProcess], worker: RtWorkerClient
) -> None:
    first, second = spawn(), spawn()
    await asyncio.gather(first.wait_serving(), second.wait_serving())
    gate = asyncio.Semaphore(20)

    async def one() -> int:
        async with gate:
            return await worker.pid()

    pids = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(200))), 20)
    assert len(pids) == 200
    served = {p: pids.count(p) for p in set(pids)}
    assert set(served) == {first.process.pid, second.process.pid}, served
    assert min(served.values()) >= 10, served  # both did a real share
    assert await first.stop() == 0, first.output
    assert await second.stop() == 0, second.output
    assert "stopped" in first.output and "stopped" in second.output


async def test_sigterm_drains_calls_in_flight(
    spawn: Callable[[], ServeProcess], worker: RtWorkerClient, tmp_path: Path
) -> None:
    served = spawn()
    await served.wait_serving()
    marker = tmp_path / "started.txt"
    calls = [asyncio.ensure_future(worker.slow(1.0, str(marker))) for _ in range(4)]
    await eventually(
        lambda: marker.exists() and len(marker.read_text().split()) == 4,
        timeout=10,
        what="4 calls running in the handler process",
    )
    stopping = asyncio.ensure_future(served.stop(signal.SIGTERM))
    results = await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert results == [served.process.pid] * 4
    assert await stopping == 0, served.output
    assert "draining" in served.output
    with pytest.raises(autonats.NoRespondersError):
        await worker.pid()
