"""Durable oneway calls: 10,000 stored while no handler runs, then served by two
handler processes, one killed with ``kill -9`` midway. At least once: every call
is processed, failing calls end in the dead-letter stream with their error."""

from __future__ import annotations

import asyncio
import collections
import json
import re
import time
from pathlib import Path
from typing import Any

import autonats.contract.wire
import autonats.runtime.durable
import nats
import nats.js.errors
import pytest
from autonats.testing import NatsServer

from flt_api_nats import FltJobsClient
from flt_support import (
    Spawn,
    eventually,
    failing,
    in_thread,
    jobs_processed,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

CALLS = 10_000


async def test_ten_thousand_durable_calls_survive_a_killed_handler(
    spawn: Spawn, connect: Any, prefix: str, tmp_path: Path
) -> None:
    server = await in_thread(NatsServer(jetstream=True).start)
    try:
        nc = await connect(server.url)
        jobs = FltJobsClient(nc, prefix=prefix, timeout=10.0)
        began = time.monotonic()
        gate = asyncio.Semaphore(200)

        async def publish(n: int) -> None:
            async with gate:
                await jobs.job(n, failing(n))

        # No handler runs: the client creates the streams and JetStream keeps the calls.
        await asyncio.wait_for(asyncio.gather(*(publish(n) for n in range(CALLS))), 60)
        published = time.monotonic() - began
        js = nc.jetstream()
        stream = autonats.contract.wire.stream_name(prefix, "flt-jobs")
        assert (await js.stream_info(stream)).state.messages == CALLS

        # Each call takes 20 ms, so the kill lands while thousands are still queued.
        env = {
            "FLT_SINK": str(tmp_path),
            "FLT_BACKOFF": "0.05",
            "FLT_JOB_SECONDS": "0.02",
        }
        victim = spawn("flt_impl:Jobs", server.url, **env)
        survivor = spawn("flt_impl:Jobs", server.url, **env)
        await asyncio.gather(victim.wait_serving(), survivor.wait_serving())
        began = time.monotonic()

        def distinct() -> int:
            return len({m for _, m, _ in jobs_processed(tmp_path)})

        await eventually(
            lambda: distinct() >= CALLS // 3, timeout=40, what="a third of the calls"
        )
        victim.kill()
        killed_after = distinct()

        dead_stream = f"{stream}_dead"

        async def dead_count() -> int:
            return (await js.stream_info(dead_stream)).state.messages

        async def settled() -> None:
            while distinct() < CALLS or await dead_count() < CALLS // 100:
                await asyncio.sleep(0.25)
            while (await js.stream_info(stream)).state.messages:
                await asyncio.sleep(0.25)

        await asyncio.wait_for(settled(), 45)
        served = time.monotonic() - began

        deliveries = jobs_processed(tmp_path)
        ids_of: dict[int, set[str]] = collections.defaultdict(set)
        for _, message_id, n in deliveries:
            ids_of[n].add(message_id)
        assert set(ids_of) == set(range(CALLS))
        assert all(len(ids) == 1 for ids in ids_of.values())  # one id per call
        assert distinct() == CALLS
        per_call = collections.Counter(n for _, _, n in deliveries)
        repeated = sum(1 for n, k in per_call.items() if k > 1 and not failing(n))
        assert all(
            per_call[n] >= autonats.runtime.durable.MAX_DELIVER - 1
            for n in ids_of
            if failing(n)
        )
        by_process = collections.Counter(pid for pid, _, _ in deliveries)
        assert by_process[victim.pid] and by_process[survivor.pid]

        # Every failing call, and only those, in the dead-letter stream with its error.
        assert await dead_count() == CALLS // 100
        dead: dict[int, dict[str, str]] = {}
        for seq in range(1, CALLS // 100 + 1):
            msg = await js.get_msg(dead_stream, seq)
            body = json.loads(msg.data or b"{}")
            headers = msg.headers or {}
            dead[body["n"]] = headers
            assert msg.subject == autonats.contract.wire.dead_letter_subject(
                prefix, "flt-jobs", "job"
            )
        assert set(dead) == {n for n in range(CALLS) if failing(n)}
        for headers in dead.values():
            assert headers["Autonats-Error-Code"] == "500"
            assert headers["Autonats-Error"] == "internal error"
            # One more when the killed handler had the last delivery in hand:
            # JetStream delivers it again after the ack wait.
            assert int(headers["Autonats-Deliveries"]) in (
                autonats.runtime.durable.MAX_DELIVER,
                autonats.runtime.durable.MAX_DELIVER + 1,
            )
        assert survivor.alive
        print(
            f"\ndurable: {CALLS} published in {published:.1f} s, served in "
            f"{served:.1f} s; killed after {killed_after} distinct ids; "
            f"{len(deliveries)} deliveries ({dict(by_process)}), {repeated} "
            f"succeeding calls delivered more than once; {len(dead)} dead letters"
        )
        with pytest.raises(nats.js.errors.NotFoundError):
            await js.get_msg(dead_stream, CALLS // 100 + 1)
    finally:
        await in_thread(server.close)


async def test_serve_without_a_server_embeds_one_with_jetstream(
    spawn: Spawn, prefix: str
) -> None:
    """A durable service served with no --server gets an embedded nats-server
    with JetStream; an async factory's implementation runs on the serving loop."""
    handler = await spawn("flt_impl:make_jobs", "").wait_serving()
    found = re.search(r"started embedded nats-server at (\S+)", handler.output)
    assert found is not None, handler.output
    nc = await nats.connect(found.group(1))
    try:
        jobs = FltJobsClient(nc, prefix=prefix)
        assert await jobs.pid() == handler.pid
        await jobs.job(1)  # returns once JetStream has stored it
    finally:
        await nc.close()
    assert await handler.stop() == 0
