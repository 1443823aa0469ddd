"""Durable calls on a 3-node JetStream cluster: replicated streams survive
losing the node that leads them, and a publish made while the stream elects a
new leader is stored or fails clearly, within its timeout."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from pathlib import Path
from typing import Any

import autonats
import pytest
from autonats.contract import wire
from autonats.testing import NatsCluster

from flt_api_nats import FltJobsClient, FltJobsHandler
from flt_support import (
    SLACK,
    Spawn,
    eventually,
    failing,
    in_thread,
    jobs_processed,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CALLS = 10_000
#: Publishes in flight at once: enough to keep the stream leader busy, few
#: enough that two shared cores do not starve the acknowledgements.
WINDOW = 256


async def test_ten_thousand_durable_calls_survive_losing_the_stream_leader(
    spawn: Spawn, connect: Any, prefix: str, tmp_path: Path
) -> None:
    cluster = await in_thread(NatsCluster(3, jetstream=True).start)
    try:
        nc = await connect(*cluster.urls)
        jobs = FltJobsClient(nc, prefix=prefix, timeout=10.0)
        began = time.monotonic()
        gate = asyncio.Semaphore(WINDOW)

        async def publish(n: int) -> None:
            async with gate:
                await jobs.job(n, failing(n))

        # No handler runs: the client creates the work stream, with 3 replicas
        # (the default on a cluster of 3), and JetStream keeps the calls.
        await asyncio.wait_for(asyncio.gather(*(publish(n) for n in range(CALLS))), 90)
        published = time.monotonic() - began
        js = nc.jetstream()
        stream = wire.stream_name(prefix, "flt-jobs")
        info = await js.stream_info(stream)
        assert info.config.num_replicas == 3
        assert info.state.messages == CALLS

        leader = await in_thread(cluster.stream_leader, stream)
        await in_thread(leader.stop, kill=True)
        killed = time.monotonic()
        survivors = [s for s in cluster.servers if s.running]
        assert len(survivors) == 2

        # One handler per surviving node; each call takes 20 ms, so the handler
        # kill below lands while thousands are still queued.
        env = {
            "FLT_SINK": str(tmp_path),
            "FLT_BACKOFF": "0.05",
            "FLT_JOB_SECONDS": "0.02",
        }
        victim = spawn("flt_impl:Jobs", survivors[0].url, **env)
        survivor = spawn("flt_impl:Jobs", survivors[1].url, **env)
        await asyncio.gather(victim.wait_serving(), survivor.wait_serving())
        new_leader = await in_thread(cluster.stream_leader, stream)
        assert new_leader is not leader
        serving = time.monotonic()

        def distinct() -> int:
            return len({m for _, m, _ in jobs_processed(tmp_path)})

        await eventually(
            lambda: distinct() >= CALLS // 3, timeout=60, what="a third of the calls"
        )
        victim.kill()
        killed_after = distinct()

        # The client's node may be the one killed: it has reconnected by now.
        dead_stream = wire.dead_stream_name(prefix, "flt-jobs")

        async def messages(name: str) -> int:
            return (await js.stream_info(name)).state.messages

        async def settled() -> None:
            while distinct() < CALLS or await messages(dead_stream) < CALLS // 100:
                await asyncio.sleep(0.25)
            while await messages(stream):
                await asyncio.sleep(0.25)

        await asyncio.wait_for(settled(), 90)
        served = time.monotonic() - serving

        deliveries = jobs_processed(tmp_path)
        ids_of: dict[int, set[str]] = collections.defaultdict(set)
        for _, message_id, n in deliveries:
            ids_of[n].add(message_id)
        assert set(ids_of) == set(range(CALLS))
        assert all(len(ids) == 1 for ids in ids_of.values())  # one id per call
        assert distinct() == CALLS
        by_process = collections.Counter(pid for pid, _, _ in deliveries)
        assert by_process[victim.pid] and by_process[survivor.pid]
        per_call = collections.Counter(n for _, _, n in deliveries)
        repeated = sum(1 for n, k in per_call.items() if k > 1 and not failing(n))
        assert await messages(dead_stream) == CALLS // 100
        assert survivor.alive
        # Started with one node of three down, the handlers saw 2 servers: the
        # dead-letter stream they created has the default for that, 1 replica,
        # and the work stream kept its 3.
        assert "durable streams get 1 replica by default" in survivor.output
        assert (await js.stream_info(stream)).config.num_replicas == 3
        print(
            f"\ncluster: {CALLS} published to an R3 stream in {published:.1f} s "
            f"({WINDOW} in flight); leader {leader.name} killed, new leader "
            f"{new_leader.name}; handlers serving {serving - killed:.1f} s after "
            f"the kill; all served in {served:.1f} s; handler killed after "
            f"{killed_after} distinct ids; {len(deliveries)} deliveries "
            f"({dict(by_process)}), {repeated} succeeding calls delivered more "
            "than once"
        )
    finally:
        await in_thread(cluster.close)


async def test_a_call_published_during_a_leader_election_is_stored_or_fails_clearly(
    spawn: Spawn, connect: Any, prefix: str, tmp_path: Path
) -> None:
    cluster = await in_thread(NatsCluster(3, jetstream=True).start)
    try:
        stream = wire.stream_name(prefix, "flt-jobs")
        # A handler sets both streams up with 3 replicas and serves throughout.
        handler = spawn("flt_impl:Jobs", ",".join(cluster.urls), FLT_SINK=str(tmp_path))
        await handler.wait_serving()
        assert "durable streams get 3 replicas by default" in handler.output
        leader = await in_thread(cluster.stream_leader, stream)
        others = [s for s in cluster.servers if s is not leader]
        # The publishers are connected to a node that stays: only the stream
        # leader goes away under them.
        nc = await connect(others[0].url)
        js = nc.jetstream()
        assert (await js.stream_info(stream)).config.num_replicas == 3
        dead = await js.stream_info(wire.dead_stream_name(prefix, "flt-jobs"))
        assert dead.config.num_replicas == 3
        # The method's own timeout (1 s) gives up within the election; a client
        # timeout of 15 s rides it.
        clients = {
            "method timeout": (FltJobsClient(nc, prefix=prefix), 1.0),
            "15 s": (FltJobsClient(nc, prefix=prefix, timeout=15.0), 15.0),
        }
        outcomes: list[tuple[str, int, float, float, str]] = []
        window: list[float] = []
        origin = time.monotonic()

        async def call(kind: str, n: int) -> None:
            client = clients[kind][0]
            started = time.monotonic() - origin
            try:
                await client.job(n)
                outcome = "ok"
            except autonats.TimeoutError as exc:
                outcome = "TimeoutError"
                assert "no stream stored the call" in str(exc), exc
            except autonats.AutonatsError as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            elapsed = time.monotonic() - origin - started
            outcomes.append((kind, n, started, elapsed, outcome))

        async def load() -> None:
            tasks = []
            for i in range(150):  # 15 s at 10 calls/s, both clients
                for k, kind in enumerate(clients):
                    tasks.append(asyncio.ensure_future(call(kind, 2 * i + k)))
                await asyncio.sleep(0.1)
            await asyncio.gather(*tasks)

        async def kill_leader() -> None:
            await asyncio.sleep(2.0)
            window.append(time.monotonic() - origin)
            await in_thread(leader.stop, kill=True)
            new = await in_thread(cluster.stream_leader, stream)
            window.append(time.monotonic() - origin)
            assert new is not leader

        await asyncio.gather(load(), kill_leader())
        down, elected = window

        stored = {n for _, n, _, _, o in outcomes if o == "ok"}
        odd = [o for o in outcomes if o[4] not in ("ok", "TimeoutError")]
        assert not odd, odd[:5]
        late = [o for o in outcomes if o[3] > clients[o[0]][1] + SLACK]
        assert not late, late[:5]
        during = [o for o in outcomes if down <= o[2] < elected]
        assert any(o[0] == "15 s" and o[4] == "ok" for o in during), during
        # Every call that returned is processed: stored means not lost.
        await eventually(
            lambda: stored <= {n for _, _, n in jobs_processed(tmp_path)},
            timeout=60,
            what="every stored call to be processed",
        )
        counts = collections.Counter((o[0], o[4]) for o in outcomes)
        print(
            f"\nelection: leader {leader.name} killed at {down:.1f} s, a new one "
            f"found at {elected:.1f} s; {dict(counts)}; slowest "
            f"{max(o[3] for o in outcomes):.2f} s"
        )
    finally:
        await in_thread(cluster.close)


class Idle:
    """flt-jobs in process, never called."""

    async def job(self, n: int, fail: bool = False) -> None:
        pass

    async def pid(self) -> int:
        return 0


async def test_replicas_are_raised_never_lowered_and_consumers_follow(
    connect: Any, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    cluster = await in_thread(NatsCluster(3, jetstream=True).start)
    try:
        nc = await connect(*cluster.urls)
        js = nc.jetstream()
        names = (
            wire.stream_name(prefix, "flt-jobs"),
            wire.dead_stream_name(prefix, "flt-jobs"),
        )
        consumer = wire.consumer_name("flt-jobs", "job")

        async def replicas() -> list[int]:
            found = [(await js.stream_info(n)).config.num_replicas for n in names]
            info = await js.consumer_info(names[0], consumer)
            # A consumer has no replica count of its own (0): its raft group
            # has the stream's size, its leader plus the other peers.
            assert not info.config.num_replicas
            # No cluster section while the consumer's group elects a leader:
            # its size is not known yet (0), and the callers ask again.
            size = 1 + len(info.cluster.replicas or []) if info.cluster else 0
            found.append(size)
            return found

        async with FltJobsHandler(nc, Idle(), prefix=prefix, replicas=1):
            pass
        began = time.monotonic()
        while await replicas() != [1, 1, 1] and time.monotonic() - began < 20:
            await asyncio.sleep(0.25)
        assert await replicas() == [1, 1, 1]

        with caplog.at_level(logging.INFO, logger="autonats.durable"):
            async with FltJobsHandler(nc, Idle(), prefix=prefix):
                pass
        assert "durable streams get 3 replicas by default" in caplog.text
        assert f"stream {names[0]}: replicas 1 -> 3" in caplog.text
        # JetStream copies the streams to their new peers, and moves the
        # consumer to the stream's new size, on its own (some seconds).
        began = time.monotonic()
        while await replicas() != [3, 3, 3] and time.monotonic() - began < 40:
            await asyncio.sleep(0.25)
        assert await replicas() == [3, 3, 3]
        print(f"\nscaled from 1 to 3 replicas in {time.monotonic() - began:.1f} s")

        caplog.clear()
        with caplog.at_level(logging.INFO, logger="autonats.durable"):
            async with FltJobsHandler(nc, Idle(), prefix=prefix, replicas=1):
                pass
        assert await replicas() == [3, 3, 3]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert [r.getMessage() for r in warnings] == [
            f"stream {name} has 3 replicas, more than the 1 asked for: left as it "
            f"is (autonats never lowers them; nats stream edit {name} --replicas 1 "
            "does)"
            for name in names
        ]
    finally:
        await in_thread(cluster.close)
