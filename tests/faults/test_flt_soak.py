"""A soak: 60 s of mixed calls (request/reply, oneway, durable, failing, slow) at
150 calls/s, with one server restart and one handler restart in the middle.
Afterwards every call is accounted for, and the request/reply handler's memory
has not grown beyond a stated bound."""

from __future__ import annotations

import asyncio
import collections
import json
from pathlib import Path
from typing import Any

import autonats.contract.wire
import autonats.runtime.durable
import pytest
from autonats.testing import NatsServer

from flt_api_nats import FltJobsClient, FltWorkClient
from flt_support import Ledger, Spawn, in_thread, read_lines, rss_mb, steady

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RATE = 150
SECONDS = 60
DEADLINE = 2.0
#: Growth of the handler's resident memory allowed between warm-up and the end.
RSS_BOUND_MB = 50.0
EXPECTED = {"echo": "ok", "slow": "ok", "fail": "Refused", "note": "ok", "job": "ok"}


def kind_of(i: int) -> str:
    slot = i % 20
    if slot < 8:
        return "echo"
    if slot < 10:
        return "slow"
    if slot < 12:
        return "fail"
    if slot < 16:
        return "note"
    return "job"


def job_fails(i: int) -> bool:
    return i % 100 == 16


async def test_soak_with_a_server_restart_and_a_handler_restart(
    spawn: Spawn, connect: Any, prefix: str, tmp_path: Path
) -> None:
    server = await in_thread(NatsServer(jetstream=True).start)
    try:
        url = server.url
        env = {"FLT_SINK": str(tmp_path), "FLT_BACKOFF": "0.05"}
        worker = spawn("flt_impl:Work", url, **env)
        jobs_handler = spawn("flt_impl:Jobs", url, **env)
        await asyncio.gather(worker.wait_serving(), jobs_handler.wait_serving())
        nc = await connect(url)
        work = FltWorkClient(nc, prefix=prefix, timeout=DEADLINE)
        jobs = FltJobsClient(nc, prefix=prefix, timeout=DEADLINE)
        ledger = Ledger(DEADLINE)
        published: dict[str, set[int]] = collections.defaultdict(set)
        events: dict[str, float] = {}
        rss: dict[str, float] = {}

        async def fire(i: int) -> None:
            kind = kind_of(i)
            if kind == "echo":
                assert await ledger.run(kind, lambda: work.echo(i)) in (None, i)
                return
            if kind == "slow":
                await ledger.run(kind, lambda: work.slow(0.2))
                return
            if kind == "fail":
                await ledger.run(kind, lambda: work.fail(i))
                return
            before = len(ledger.calls)
            if kind == "note":
                await ledger.run(kind, lambda: work.note(i))
            else:
                await ledger.run(kind, lambda: jobs.job(i, job_fails(i)))
            outcome = next(c[3] for c in ledger.calls[before:] if c[0] == kind)
            published[f"{kind} {outcome}"].add(i)

        async def faults() -> None:
            await asyncio.sleep(10)
            rss["worker warm"] = rss_mb(worker.pid)
            rss["jobs warm"] = rss_mb(jobs_handler.pid)
            await asyncio.sleep(10)
            events["server down"] = ledger.mark()
            await in_thread(server.restart, pause=1.0)
            events["server up"] = ledger.mark()
            await asyncio.sleep(40 - ledger.mark())
            events["handler stop"] = ledger.mark()
            assert await jobs_handler.stop() == 0, jobs_handler.output
            replacement = spawn("flt_impl:Jobs", url, **env)
            await replacement.wait_serving()
            events["handler up"] = ledger.mark()

        started, _ = await asyncio.gather(steady(RATE, SECONDS, fire), faults())
        rss["worker end"] = rss_mb(worker.pid)

        # Durable calls are processed at least once, the failing ones dead-lettered.
        js = nc.jetstream()
        stream = autonats.contract.wire.stream_name(prefix, "flt-jobs")

        def recorded(kind: str) -> list[int]:
            return [
                int(words[-1])
                for lines in read_lines(tmp_path, kind).values()
                for words in lines
                if words and words[-1].isdigit()
            ]

        async def dead() -> set[int]:
            count = (await js.stream_info(f"{stream}_dead")).state.messages
            found = set()
            for seq in range(1, count + 1):
                msg = await js.get_msg(f"{stream}_dead", seq)
                found.add(json.loads(msg.data or b"{}")["n"])
            return found

        stored = published["job ok"]
        must_fail = {i for i in stored if job_fails(i)}

        async def settled() -> None:
            while not (stored <= set(recorded("job")) and must_fail <= await dead()):
                await asyncio.sleep(0.5)
            while (await js.stream_info(stream)).state.messages:
                await asyncio.sleep(0.5)

        await asyncio.wait_for(settled(), 40)

        notes = collections.Counter(recorded("note"))
        attempted_notes = {
            i for k, s in published.items() if k.startswith("note") for i in s
        }
        lost_notes = published["note ok"] - set(notes)
        dead_letters = await dead()
        late = {
            k: collections.Counter(
                c[3] for c in ledger.calls if c[0] == k and c[1] > 50
            )
            for k in EXPECTED
        }
        print(
            f"\nsoak {events}: {ledger.summary()}\n"
            f"oneway: {len(published['note ok'])} published, {len(notes)} received, "
            f"{len(lost_notes)} lost; durable: {len(stored)} stored, all processed, "
            f"{len(dead_letters)} dead letters; RSS MB {rss}"
        )
        ledger.check_accounted(started)
        for kind, expected in EXPECTED.items():
            assert set(late[kind]) == {expected}, (kind, late[kind])
        assert max(notes.values()) == 1  # at most once
        assert set(notes) <= attempted_notes
        assert must_fail <= dead_letters <= {i for i in range(started) if job_fails(i)}
        assert worker.alive
        assert rss["worker end"] - rss["worker warm"] < RSS_BOUND_MB, rss
    finally:
        await in_thread(server.close)
