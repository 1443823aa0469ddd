"""``autonats serve`` processes: sharing the load in the queue group, and draining
in-flight calls on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import autonats
import nats.aio.client
import pytest

from rt_api_nats import RtWorkerClient
from rt_helpers import eventually

pytestmark = [pytest.mark.timeout(60), pytest.mark.slow]

RUNTIME = Path(__file__).resolve().parent


class Served:
    """One ``python -m autonats.cli serve rt_impl:Worker`` process."""

    def __init__(self, url: str, prefix: str, log: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(RUNTIME), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "autonats.cli",
                    "serve",
                    "rt_impl:Worker",
                    "--server",
                    url,
                    "--prefix",
                    prefix,
                ],
                cwd=RUNTIME,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_serving(self) -> None:
        await eventually(
            lambda: (
                "serving rt-worker" in self.output or self.process.poll() is not None
            ),
            timeout=20,
            what="autonats serve to subscribe",
        )
        assert self.process.poll() is None, self.output
        # serve prints after Handler.run(), whose one flush() does not prove the
        # subscriptions are live with nats-py 2.16 (see test_rt_wire.py).
        await asyncio.sleep(0.2)

    async def stop(self) -> int:
        """SIGTERM, then the exit status (bounded wait)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.wait()

    async def wait(self) -> int:
        await eventually(
            lambda: self.process.poll() is not None,
            timeout=15,
            what="the process to exit",
        )
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def spawn(nats_url: str, prefix: str, tmp_path: Path) -> Iterator[Callable[[], Served]]:
    started: list[Served] = []

    def start() -> Served:
        served = Served(nats_url, prefix, tmp_path / f"serve{len(started)}.log")
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
    spawn: Callable[[], Served], worker: RtWorkerClient
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
    spawn: Callable[[], Served], worker: RtWorkerClient, tmp_path: Path
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
    served.process.send_signal(signal.SIGTERM)
    results = await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert results == [served.process.pid] * 4
    assert await served.wait() == 0, served.output
    assert "draining" in served.output
    with pytest.raises(autonats.NoRespondersError):
        await worker.pid()
