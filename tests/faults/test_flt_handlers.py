"""Faults and changes of handler processes: ``kill -9`` with calls in flight, and
a graceful rollout (a new instance starts, the old one shuts down) under load."""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any

import pytest

from flt_api_nats import FltWorkClient, FltWorkHandler
from flt_impl import Work
from flt_support import Ledger, Spawn, eventually, read_lines, steady

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def test_kill_9_with_calls_in_flight_times_out_only_its_callers(
    spawn: Spawn, connect: Any, nats_url: str, prefix: str, tmp_path: Path
) -> None:
    victim = spawn("flt_impl:Work", nats_url, FLT_SINK=str(tmp_path))
    survivor = spawn("flt_impl:Work", nats_url, FLT_SINK=str(tmp_path))
    await asyncio.gather(victim.wait_serving(), survivor.wait_serving())
    nc = await connect(nats_url)
    deadline = 4.0
    work = FltWorkClient(nc, prefix=prefix, timeout=deadline)
    slow_ledger = Ledger(deadline)
    slow = [
        asyncio.ensure_future(
            slow_ledger.run("slow", lambda: work.slow(2.5, "inflight"))
        )
        for _ in range(20)
    ]

    def running() -> dict[int, int]:
        return {
            pid: len(lines) for pid, lines in read_lines(tmp_path, "inflight").items()
        }

    await eventually(
        lambda: sum(running().values()) == 20, timeout=10, what="20 slow calls running"
    )
    on_victim = running().get(victim.pid, 0)
    assert 0 < on_victim < 20, running()  # the queue group spread them
    victim.kill()

    echo_ledger = Ledger(2.0)

    async def fire(i: int) -> None:
        assert await echo_ledger.run("echo", lambda: work.echo(i)) in (None, i)

    started = await steady(50, 6, fire)
    results = await asyncio.gather(*slow)

    print(
        f"\n{on_victim} of 20 slow calls were on the killed process: "
        f"{slow_ledger.summary()}; echo after the kill: {echo_ledger.summary()}"
    )
    slow_ledger.check_accounted(20)
    assert slow_ledger.counts() == {"ok": 20 - on_victim, "TimeoutError": on_victim}
    assert [r for r in results if r is not None] == [survivor.pid] * (20 - on_victim)
    echo_ledger.check_accounted(started)
    assert echo_ledger.counts() == {"ok": started}
    assert survivor.alive


async def test_rollout_in_process_no_caller_sees_an_error(
    connect: Any, nats_url: str, prefix: str
) -> None:
    old = FltWorkHandler(await connect(nats_url), Work(), prefix=prefix)
    new = FltWorkHandler(await connect(nats_url), Work(), prefix=prefix)
    await old.run()
    work = FltWorkClient(await connect(nats_url), prefix=prefix, timeout=5.0)
    ledger = Ledger(5.0)

    async def fire(i: int) -> None:
        if i % 4 == 0:
            await ledger.run("slow", lambda: work.slow(0.3))
        else:
            assert await ledger.run("echo", lambda: work.echo(i)) in (None, i)

    async def roll() -> None:
        await asyncio.sleep(2)
        await new.run()
        await asyncio.sleep(0.5)
        await old.shutdown()

    started, _ = await asyncio.gather(steady(100, 6, fire), roll())

    def served(handler: FltWorkHandler) -> int:
        return sum(s.num_requests for s in handler.stats().values())

    print(f"\nrollout: {ledger.summary()}; old served {served(old)}, new {served(new)}")
    ledger.check_accounted(started)
    assert ledger.counts() == {"ok": started}
    assert served(old) + served(new) == started
    assert served(new) > started / 4
    await new.shutdown()


async def test_rollout_of_serve_processes_no_caller_sees_an_error(
    spawn: Spawn, connect: Any, nats_url: str, prefix: str
) -> None:
    old = await spawn("flt_impl:Work", nats_url).wait_serving()
    work = FltWorkClient(await connect(nats_url), prefix=prefix, timeout=5.0)
    ledger = Ledger(5.0)
    pids: list[tuple[float, int]] = []
    events: dict[str, float] = {}

    async def fire(i: int) -> None:
        if i % 4 == 0:
            await ledger.run("slow", lambda: work.slow(0.3))
        elif i % 4 == 1:
            pid = await ledger.run("pid", work.pid)
            if pid is not None:
                pids.append((ledger.mark(), pid))
        else:
            assert await ledger.run("echo", lambda: work.echo(i)) in (None, i)

    async def roll() -> None:
        await asyncio.sleep(1.5)
        new = spawn("flt_impl:Work", nats_url)
        await new.wait_serving()
        events["new"] = ledger.mark()
        assert await old.stop() == 0, old.output  # SIGTERM: shutdown(), then drain
        events["old stopped"] = ledger.mark()

    started, _ = await asyncio.gather(steady(100, 8, fire), roll())

    print(f"\nrollout of processes {events}: {ledger.summary()}")
    ledger.check_accounted(started)
    assert ledger.counts() == {"ok": started}, collections.Counter(
        c[3] for c in ledger.calls
    )
    assert "draining" in old.output and "stopped" in old.output
    assert {p for t, p in pids if t > events["old stopped"]} - {old.pid}
    assert all(p != old.pid for t, p in pids if t > events["old stopped"] + 0.1)
