"""The client's circuit breaker on a real nats-server, through the generated client."""

from __future__ import annotations

import asyncio
import logging
import time

import autonats
import nats.aio.client
import pytest
from autonats.contract import spec
from autonats.contract.declare import MethodOptions
from autonats.observe import metrics
from autonats.runtime import breaker as breaker_
from autonats.runtime.client import Client

from res_api_nats import ResClient, ResSyncClient
from res_support import Impl, drive, instances

pytestmark = pytest.mark.timeout(90)

#: Opens within a second of steady failures; probes after 1.5 s.
QUICK = autonats.Breaker(min_calls=10, window=2.0, open_for=1.5, probes=2)


async def test_all_instances_failing_open_the_breaker_and_probes_close_it(
    nc: nats.aio.client.Client,
    nats_url: str,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="autonats.breaker")
    impls = [Impl("fail"), Impl("fail"), Impl("fail")]
    async with instances(nats_url, prefix, impls) as handlers:
        client = ResClient(nc, prefix=prefix, breaker=QUICK)
        breaker = client._client.breaker("work")
        assert breaker is not None and breaker.state_name == "closed"

        failed = await drive(
            client.work, until=lambda: breaker.state != 0, calls=200, concurrency=1
        )
        assert breaker.state_name == "open", failed
        # It opened at its threshold: min_calls calls, all failing.
        assert failed["InternalServerError"] == QUICK.min_calls

        # Open: every call fails at once, and no handler receives any.
        received = sum(impl.calls for impl in impls)
        served = sum(h.stats()["work"].num_requests for h in handlers)
        took = []
        for n in range(200):
            started = time.perf_counter()
            with pytest.raises(autonats.CircuitOpenError) as caught:
                await client.work(n)
            took.append(time.perf_counter() - started)
            assert 0 < caught.value.retry_after <= QUICK.open_for
        await asyncio.sleep(0.1)  # anything sent would have arrived by now
        assert sum(impl.calls for impl in impls) == received
        assert sum(h.stats()["work"].num_requests for h in handlers) == served
        took.sort()
        assert took[len(took) // 2] < 0.0002, took  # the median, far under 1 ms
        assert sum(t >= 0.001 for t in took) <= 2, took  # 1 ms, but a preempted one
        stats = client._client.stats()["work"]
        assert stats.outcomes["circuit_open"] == 200
        assert failed["CircuitOpenError"] == 0

        # Healthy again: after open_for, the probes go through and close it.
        for impl in impls:
            impl.mode = "ok"
        with pytest.raises(autonats.CircuitOpenError):
            await client.work(0)  # still open
        await asyncio.sleep(QUICK.open_for)
        assert await client.work(7) == 7  # a probe
        assert breaker.state_name == "half_open"
        assert await client.work(8) == 8  # the second probe closes it
        assert breaker.state_name == "closed"
        after = await drive(client.work, calls=50, concurrency=4)
        assert after == {"ok": 50}
        assert stats.breaker is not None
        assert stats.breaker.transitions == {"open": 1, "half_open": 1, "closed": 1}
        # Failing alike, no instance stepped out: the breaker was what helped.
        assert [h.stats()["work"].outlier.ejections for h in handlers] == [0, 0, 0]  # type: ignore[union-attr]

    messages = [r.getMessage() for r in caplog.records if r.name == "autonats.breaker"]
    assert any(
        "res.work: circuit breaker opened: 10 of the 10 calls" in m for m in messages
    )
    assert any("half-open" in m for m in messages)
    assert any(
        "circuit breaker closed: 2 probe call(s) succeeded" in m for m in messages
    )


async def test_a_failing_probe_opens_it_again(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impls = [Impl("fail")]
    async with instances(nats_url, prefix, impls):
        # The declared breaker of ``guarded``: 10 calls, 2 s, open 1 s, 2 probes.
        client = ResClient(nc, prefix=prefix)
        breaker = client._client.breaker("guarded")
        assert breaker is not None and breaker.config.open_for == 1.0
        assert client._client.breaker("work") is None  # none declared

        await drive(client.guarded, until=lambda: breaker.state != 0, calls=100)
        assert breaker.state_name == "open"
        await asyncio.sleep(1.0)
        with pytest.raises(autonats.InternalServerError):
            await client.guarded(1)  # the probe fails
        assert breaker.state_name == "open"
        calls = impls[0].calls
        with pytest.raises(autonats.CircuitOpenError):
            await client.guarded(2)
        assert impls[0].calls == calls


async def test_declared_errors_and_bad_requests_never_open_it(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impls = [Impl("refuse"), Impl("refuse"), Impl("refuse")]
    async with instances(nats_url, prefix, impls):
        client = ResClient(nc, prefix=prefix, breaker=QUICK)
        outcomes = await drive(client.work, seconds=2.5, pace=0.002)
        assert set(outcomes) == {"Refused"}  # declared, code 500: 100% of calls
        assert outcomes["Refused"] > 3 * QUICK.min_calls
        breaker = client._client.breaker("work")
        assert breaker is not None and breaker.state_name == "closed"
        assert breaker.stats.transitions == {}

        # A client built from another version of the interface: every call is
        # a 400 (its argument has the wrong type).
        class OldResService:
            async def work(self, n: str) -> int: ...

        old = spec.build(
            OldResService,
            name="res",
            version="1.0.0",
            methods={"work": MethodOptions()},
        )
        stale = Client(nc, old, prefix=prefix, breaker=QUICK)
        bad = await drive(lambda n: stale.call("work", [str(n)]), seconds=1.0)
        assert set(bad) == {"BadRequestError"} and bad["BadRequestError"] > 20
        assert stale.breaker("work").state_name == "closed"  # type: ignore[union-attr]


async def test_timeouts_and_no_responders_open_it(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    # Nobody serves the prefix: every call is answered "no responders" at once.
    client = ResClient(nc, prefix=prefix, breaker=QUICK)
    outcomes = await drive(client.work, calls=30, concurrency=1)
    assert outcomes == {"NoRespondersError": 10, "CircuitOpenError": 20}

    class Hangs:
        async def work(self, n: int) -> int:
            await asyncio.sleep(60)
            return n

    class HangService:
        async def work(self, n: int) -> int: ...

    hang_spec = spec.build(HangService, name="hang", methods={"work": MethodOptions()})
    handler = autonats.runtime.Handler.for_spec(hang_spec)(nc, Hangs(), prefix=prefix)
    async with handler:
        short = autonats.Breaker(min_calls=3, window=5.0, open_for=5.0)
        hung = Client(nc, hang_spec, prefix=prefix, timeout=0.2, breaker=short)
        results = await drive(lambda n: hung.call("work", [n]), calls=6, concurrency=3)
        # Three timeouts open it; on a loaded machine a fourth call may start
        # before the third timeout is counted.
        assert set(results) == {"TimeoutError", "CircuitOpenError"}, results
        assert results["TimeoutError"] >= 3 and sum(results.values()) == 6
        assert hung.breaker("work").state_name == "open"  # type: ignore[union-attr]


def test_a_blocking_client_takes_a_breaker(nats_url: str, prefix: str) -> None:
    """``<Name>SyncClient(conn, breaker=...)`` as the async client: nobody
    serves the prefix, so the breaker opens after its minimum of calls and
    the rest fail fast without being sent."""
    with autonats.sync.connect(nats_url) as conn:
        client = ResSyncClient(conn, prefix=prefix, breaker=QUICK)
        outcomes: dict[str, int] = {}
        for n in range(30):
            try:
                client.work(n)
            except autonats.AutonatsError as exc:
                name = type(exc).__name__
                outcomes[name] = outcomes.get(name, 0) + 1
        assert outcomes == {"NoRespondersError": 10, "CircuitOpenError": 20}
        off = ResSyncClient(conn, prefix=prefix, breaker=False)
        assert off._client.breaker("guarded") is None  # declared, turned off


async def test_breaker_state_is_exported_as_metrics(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    client = ResClient(nc, prefix=prefix, breaker={"work": QUICK, "guarded": False})
    assert client._client.breaker("guarded") is None  # the client turned it off
    await drive(client.work, calls=QUICK.min_calls + 5, concurrency=1)
    families = {f.name: f for f in metrics.Collector().collect()}
    states = {
        s.labels["state"]: s.value
        for s in families["autonats_client_breaker_state"].samples
        if s.labels["service"] == "res" and s.labels["method"] == "work"
    }
    # Other tests' clients of ``res`` may still be alive: at least this one.
    assert states["open"] >= 1
    assert set(states) == set(metrics.BREAKER_STATES)
    transitions = {
        (s.labels["method"], s.labels["state"]): s.value
        for s in families["autonats_client_breaker_transitions"].samples
        if s.labels["service"] == "res"
    }
    assert transitions[("work", "open")] >= 1
    calls = {
        s.labels["outcome"]: s.value
        for s in families["autonats_client_calls"].samples
        if s.labels["service"] == "res" and s.labels["method"] == "work"
    }
    assert calls["circuit_open"] >= 5
    assert breaker_.STATE_NAMES == metrics.BREAKER_STATES
