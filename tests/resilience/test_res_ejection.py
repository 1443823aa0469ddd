"""Outlier ejection on a real nats-server: several handler instances of one
service, each on a connection of its own, one or more of them failing."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path

import autonats
import nats.aio.client
import pytest
from autonats.observe import metrics
from autonats.runtime.outlier import OutlierEjection
from support import ServeProcess

from res_api_nats import ResClient
from res_support import FAST, Impl, drive, instances, outlier_state

RESILIENCE = Path(__file__).resolve().parent

pytestmark = pytest.mark.timeout(90)


async def test_one_failing_instance_of_three_steps_out_then_rejoins(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impls = [Impl(), Impl(), Impl("fail")]
    # A cool-down long enough to measure with the instance out.
    outlier = OutlierEjection(
        window=1.0, interval=0.1, min_requests=5, cooldown=6.0, max_cooldown=6.0
    )
    async with instances(nats_url, prefix, impls, outlier) as handlers:
        sick = handlers[2]
        client = ResClient(nc, prefix=prefix)

        before = await drive(
            client.work, until=lambda: outlier_state(sick) == "ejected", seconds=20
        )
        assert outlier_state(sick) == "ejected", before
        assert before["InternalServerError"] > 0  # it did fail calls first
        assert [outlier_state(h) for h in handlers[:2]] == ["serving", "serving"]

        # Out of the queue group, still in $SRV, its state in STATS.
        found = await autonats.discover(nc, "res", timeout=2.0)
        mine = {
            i.id: e
            for i in found
            for e in i.endpoints
            if e.name == "work" and e.subject == f"{prefix}.res.v1.work"
        }
        assert set(mine) == {h.service.id for h in handlers}
        data = mine[sick.service.id].data
        assert data["outlier"]["state"] == "ejected"
        assert data["outlier"]["ejections"] == 1
        assert 0 < data["outlier"]["rejoin_in_ms"] <= 6000
        assert data["internal_errors"] == sick.stats()["work"].internal_errors > 0
        assert mine[handlers[0].service.id].data["outlier"]["state"] == "serving"
        # ... and in the metrics of the process (the three handlers are in it).
        families = {f.name: f for f in metrics.Collector().collect()}
        ejected = [
            s.value
            for s in families["autonats_handler_ejected"].samples
            if s.labels == {"service": "res", "method": "work"}
        ]
        assert ejected == [1]

        # After the detection window: at least 99% of calls succeed.
        sick_calls = impls[2].calls
        after = await drive(client.work, calls=400, seconds=20, concurrency=8)
        assert sum(after.values()) == 400
        assert after["ok"] >= 396, after
        assert outlier_state(sick) == "ejected"  # the cool-down outlasted them
        assert impls[2].calls == sick_calls  # it received none of them

        # Healthy again: it rejoins after its cool-down and serves.
        impls[2].mode = "ok"
        rejoined = await drive(
            client.work,
            until=lambda: impls[2].calls > sick_calls + 10,
            seconds=20,
            pace=0.002,
        )
        assert impls[2].calls > sick_calls + 10, rejoined
        assert outlier_state(sick) == "serving"
        assert set(rejoined) == {"ok"}, rejoined


async def test_instances_failing_alike_none_steps_out(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impls = [Impl("fail"), Impl("fail"), Impl("fail")]
    async with instances(nats_url, prefix, impls) as handlers:
        client = ResClient(nc, prefix=prefix)
        started = time.monotonic()
        # Three windows of calls, every one of them failing.
        outcomes = await drive(client.work, seconds=3.0, pace=0.002)
        assert time.monotonic() - started >= 3.0
        assert set(outcomes) == {"InternalServerError"}
        for handler, impl in zip(handlers, impls, strict=True):
            figures = handler.stats()["work"].outlier
            assert figures is not None
            assert figures.ejections == 0 and figures.state == "serving"
            assert impl.calls >= 3 * FAST.min_requests  # judged, more than once


async def test_a_single_instance_never_steps_out(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impl = Impl("fail")
    async with instances(nats_url, prefix, [impl]) as (handler,):
        client = ResClient(nc, prefix=prefix)
        outcomes = await drive(client.work, seconds=3.0, pace=0.002)
        assert set(outcomes) == {"InternalServerError"}
        figures = handler.stats()["work"].outlier
        assert figures is not None
        assert figures.ejections == 0 and figures.state == "serving"
        assert impl.calls == outcomes["InternalServerError"]  # it took every call


async def test_declared_errors_and_bad_requests_never_eject(
    nc: nats.aio.client.Client, nats_url: str, prefix: str
) -> None:
    impls = [Impl("refuse"), Impl(), Impl()]
    async with instances(nats_url, prefix, impls) as handlers:
        client = ResClient(nc, prefix=prefix)

        async def refused_or_bad(n: int) -> int:
            if n % 2:
                return await client.work(n)
            # A request that does not decode: answered 400 by whoever takes it.
            msg = await nc.request(f"{prefix}.res.v1.work", b'{"n": "x"}', timeout=5)
            assert msg.headers is not None
            assert msg.headers["Nats-Service-Error-Code"] == "400"
            return 0

        outcomes = await drive(refused_or_bad, seconds=3.0, pace=0.002)
        assert outcomes["Refused"] > 3 * FAST.min_requests
        for handler in handlers:
            figures = handler.stats()["work"].outlier
            assert figures is not None
            assert figures.ejections == 0 and figures.state == "serving"
            assert handler.stats()["work"].internal_errors == 0
        # The refusing instance answered every call it took with the error.
        assert impls[0].calls > 0


@pytest.mark.parametrize(
    ("size", "failing", "max_ejected", "allowed"),
    [(3, 2, 0.2, 1), (5, 3, 0.4, 2)],
    ids=["2-of-3", "3-of-5"],
)
async def test_never_more_than_the_configured_share_steps_out(
    nc: nats.aio.client.Client,
    nats_url: str,
    prefix: str,
    size: int,
    failing: int,
    max_ejected: float,
    allowed: int,
) -> None:
    impls = [Impl("fail") for _ in range(failing)] + [
        Impl() for _ in range(size - failing)
    ]
    outlier = OutlierEjection(
        window=1.0,
        interval=0.1,
        min_requests=5,
        cooldown=1.0,
        max_cooldown=2.0,
        max_ejected=max_ejected,
    )
    async with instances(nats_url, prefix, impls, outlier) as handlers:
        client = ResClient(nc, prefix=prefix)
        most = 0
        sampling = True

        async def sample() -> None:
            nonlocal most
            while sampling:
                out = sum(outlier_state(h) == "ejected" for h in handlers)
                most = max(most, out)
                await asyncio.sleep(0.005)

        sampler = asyncio.ensure_future(sample())
        try:
            # Several windows and cool-downs: instances step out, rejoin, and
            # step out again, deciding at the same moments.
            await drive(client.work, seconds=6.0, concurrency=6, pace=0.001)
        finally:
            sampling = False
            await sampler
        ejections = [h.stats()["work"].outlier.ejections for h in handlers]  # type: ignore[union-attr]
        assert most == allowed, (most, ejections)
        assert sum(ejections[failing:]) == 0  # the healthy ones never


async def test_the_cool_down_grows_while_the_instance_keeps_failing(
    nc: nats.aio.client.Client,
    nats_url: str,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    impls = [Impl(), Impl(), Impl("fail")]
    outlier = OutlierEjection(
        window=1.0, interval=0.1, min_requests=5, cooldown=0.5, max_cooldown=1.0
    )
    caplog.set_level(logging.INFO, logger="autonats.outlier")
    async with instances(nats_url, prefix, impls, outlier) as handlers:
        sick = handlers[2]
        client = ResClient(nc, prefix=prefix)

        def ejections() -> int:
            figures = sick.stats()["work"].outlier
            assert figures is not None
            return figures.ejections

        await drive(client.work, until=lambda: ejections() >= 3, seconds=20, pace=0.001)
        assert ejections() >= 3
    cooldowns = [
        float(m.group(1))
        for r in caplog.records
        if (m := re.search(r"steps out of the queue group for ([\d.]+) s", r.message))
    ]
    assert cooldowns[:3] == [0.5, 1.0, 1.0]  # doubled, then capped
    back = [r.message for r in caplog.records if "back in the queue group" in r.message]
    assert len(back) >= 2 and "cool-down is over" in back[0]
    assert all(
        r.levelno == logging.WARNING for r in caplog.records if "steps out" in r.message
    )


async def test_autonats_serve_takes_the_outlier_options(
    nc: nats.aio.client.Client, nats_url: str, prefix: str, tmp_path: Path
) -> None:
    common = ("--server", nats_url, "--prefix", prefix)
    tuned = ServeProcess(
        "res_impl:Healthy",
        *common,
        "--outlier",
        "window=2",
        "--outlier",
        "cooldown=5",
        cwd=RESILIENCE,
        log=tmp_path / "tuned.log",
    )
    off = ServeProcess(
        "res_impl:Healthy",
        *common,
        "--no-outlier-ejection",
        cwd=RESILIENCE,
        log=tmp_path / "off.log",
    )
    try:
        await tuned.wait_serving()
        await off.wait_serving()
        client = ResClient(nc, prefix=prefix)
        assert await client.work(3) == 3
        found = await autonats.discover(nc, "res", timeout=2.0)
        data = [
            e.data
            for i in found
            for e in i.endpoints
            if e.subject == f"{prefix}.res.v1.work"
        ]
        assert len(data) == 2
        with_figures = [d for d in data if "outlier" in d]
        assert len(with_figures) == 1  # the other one has ejection off
        assert with_figures[0]["outlier"]["window_ms"] == 2000
        assert with_figures[0]["outlier"]["state"] == "serving"
    finally:
        for served in (tuned, off):
            try:
                await served.stop()
            finally:
                served.kill()
    assert (tuned.process.returncode, off.process.returncode) == (0, 0), tuned.output
