"""Faults of the NATS servers: a cluster node killed under load, a single server
restarted under load. Every call started is accounted for: it succeeded, or it
failed with an autonats error, within its deadline (plus slack)."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import pytest
from autonats.testing import NatsCluster, NatsServer

from flt_api_nats import FltWorkClient
from flt_support import Ledger, Spawn, eventually, in_thread, steady

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DEADLINE = 2.0


async def test_killing_the_node_of_a_handler_fails_over_to_the_other(
    spawn: Spawn, connect: Any, prefix: str
) -> None:
    cluster = await in_thread(NatsCluster(3).start)
    try:
        urls = cluster.urls
        first = spawn("flt_impl:Work", urls[0])
        second = spawn("flt_impl:Work", urls[1])
        await asyncio.gather(first.wait_serving(), second.wait_serving())
        # The client knows only the third node: every call crosses a route.
        nc = await connect(urls[2])
        work = FltWorkClient(nc, prefix=prefix, timeout=DEADLINE)
        seen: set[int] = set()

        async def both_reachable() -> None:
            while seen != {first.pid, second.pid}:
                seen.add(await work.pid())

        await asyncio.wait_for(both_reachable(), 15)

        ledger = Ledger(DEADLINE)
        served: list[tuple[float, int]] = []
        wrong: list[int] = []
        killed_at = 0.0

        async def fire(i: int) -> None:
            if i % 2:
                result = await ledger.run("echo", lambda: work.echo(i))
                if result is not None and result != i:
                    wrong.append(i)
            else:
                pid = await ledger.run("pid", work.pid)
                if pid is not None:
                    served.append((ledger.mark(), pid))

        async def kill_first_node() -> None:
            nonlocal killed_at
            await asyncio.sleep(3)
            killed_at = ledger.mark()
            await in_thread(cluster.servers[0].stop, kill=True)

        started, _ = await asyncio.gather(steady(100, 9, fire), kill_first_node())

        print(f"\nnode kill at {killed_at:.2f} s: {ledger.summary()}")
        ledger.check_accounted(started)
        assert not wrong
        assert first.alive and second.alive
        after = [c for c in ledger.calls if c[1] > killed_at + 3]
        assert after and all(c[3] == "ok" for c in after), collections.Counter(
            c[3] for c in after
        )
        assert any(t > killed_at and pid == second.pid for t, pid in served)
        failed = len(ledger.calls) - ledger.counts().get("ok", 0)
        assert failed <= len(ledger.calls) * 0.1, ledger.summary()
        rejoined = any(t > killed_at + 3 and pid == first.pid for t, pid in served)
        print(f"handler of the killed node served again after reconnecting: {rejoined}")
    finally:
        await in_thread(cluster.close)


async def test_a_restarted_server_loses_no_call_silently(
    spawn: Spawn, connect: Any, prefix: str
) -> None:
    server = await in_thread(NatsServer().start)
    try:
        handler = await spawn("flt_impl:Work", server.url).wait_serving()
        nc = await connect(server.url)
        work = FltWorkClient(nc, prefix=prefix, timeout=DEADLINE)
        assert await work.echo(1) == 1
        ledger = Ledger(DEADLINE)
        window: list[float] = []

        async def fire(i: int) -> None:
            result = await ledger.run("echo", lambda: work.echo(i))
            assert result in (None, i)

        async def restart() -> None:
            await asyncio.sleep(3)
            window.append(ledger.mark())
            await in_thread(server.restart, pause=1.0)
            window.append(ledger.mark())

        started, _ = await asyncio.gather(steady(50, 12, fire), restart())

        down, up = window
        print(f"\nserver down {down:.2f}-{up:.2f} s: {ledger.summary()}")
        ledger.check_accounted(started)
        assert handler.alive
        late = [c for c in ledger.calls if c[1] > up + 5]
        assert late and all(c[3] == "ok" for c in late), collections.Counter(
            c[3] for c in late
        )
        before = [c for c in ledger.calls if c[1] + c[2] < down]
        assert before and all(c[3] == "ok" for c in before)
        assert nc.is_connected
        assert await work.echo(7) == 7
    finally:
        await in_thread(server.close)


async def test_sigterm_while_the_server_is_gone_stops_at_once(spawn: Spawn) -> None:
    """Told to stop while it reconnects, ``autonats serve`` cannot drain (there
    is no server to unsubscribe from): it finishes what it holds, closes the
    connection and exits 0 at once, with no traceback and no wait per
    subscription."""
    server = await in_thread(NatsServer().start)
    try:
        handler = await spawn("flt_impl:Work", server.url).wait_serving()
        await in_thread(server.stop)
        await eventually(
            lambda: "reconnecting" in handler.output,
            timeout=10,
            what="serve to notice the server is gone",
        )
        loop = asyncio.get_running_loop()
        asked = loop.time()
        assert await handler.stop(timeout=10) == 0, handler.output
        took = loop.time() - asked
        assert took < 5, f"took {took:.1f} s to stop"
        assert "Traceback" not in handler.output, handler.output
        assert "stopped" in handler.output
    finally:
        await in_thread(server.close)
