"""/metrics, scraped over HTTP during a burst of calls, matches what was sent."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import autonats
import nats.aio.client
import pytest
from autonats.contract import spec
from autonats.contract.declare import MethodOptions
from autonats.observe import metrics
from autonats.runtime import Handler
from autonats.runtime.client import Client
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import start_http_server
from prometheus_client.parser import text_string_to_metric_families

from support import ServeProcess, free_port
from users import UserNotFound
from users_nats import UserClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Refused(autonats.ServiceError):
    code = 409


class Gate:
    """An implementation whose calls wait until the test opens the gate."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = 0

    async def work(self, n: int) -> int:
        self.entered += 1
        await self.open.wait()
        if n < 0:
            raise Refused("negative")
        return n


class GateService:
    async def work(self, n: int) -> int: ...


SPEC = spec.build(
    GateService,
    name="metered",
    methods={"work": MethodOptions(timeout=10.0, concurrency=4)},
    errors=[Refused],
)
GateHandler = Handler.for_spec(SPEC)


@pytest.fixture(scope="module")
def scrape_url() -> Iterator[str]:
    registry = CollectorRegistry()
    metrics.register(registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{port}/metrics"
    server.shutdown()
    server.server_close()
    thread.join(5)


async def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())

    text = await asyncio.to_thread(fetch)
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("service") in (
                "metered",
                None,
            ) or family.name.startswith("autonats_client"):
                key = (sample.name, tuple(sorted(sample.labels.items())))
                samples[key] = sample.value
    return samples


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    key = (
        name,
        tuple(sorted({"service": "metered", "method": "work", **labels}.items())),
    )
    return float(samples.get(key, 0.0))


async def test_metrics_follow_a_burst(
    nc: nats.aio.client.Client, scrape_url: str
) -> None:
    gate = Gate()
    client = Client(nc, SPEC)
    async with GateHandler(nc, gate):
        before = await _scrape(scrape_url)
        assert _value(before, "autonats_handler_capacity") == 4
        assert _value(before, "autonats_handler_concurrency") == 4

        good = [asyncio.create_task(client.call("work", (i,))) for i in range(20)]
        bad = [asyncio.create_task(client.call("work", (-1,))) for _ in range(5)]
        for _ in range(200):
            if gate.entered >= 4:
                break
            await asyncio.sleep(0.01)
        busy = await _scrape(scrape_url)
        assert _value(busy, "autonats_handler_in_flight") == 4
        assert _value(busy, "autonats_handler_capacity") == 0
        assert _value(busy, "autonats_handler_queued") == 21
        assert _value(busy, "autonats_client_in_flight") == 25

        gate.open.set()
        assert sorted(await asyncio.gather(*good)) == list(range(20))
        for task in bad:
            with pytest.raises(Refused):
                await task
        raw = await nc.request("autonats.metered.work", b"not json", timeout=5)
        assert (
            raw.headers is not None and raw.headers["Nats-Service-Error-Code"] == "400"
        )

        after = await _scrape(scrape_url)
    assert _value(after, "autonats_handler_requests_total", code="ok") == 20
    assert _value(after, "autonats_handler_requests_total", code="409") == 5
    assert _value(after, "autonats_handler_requests_total", code="400") == 1
    assert _value(after, "autonats_handler_latency_seconds_count") == 26
    assert _value(after, "autonats_handler_in_flight") == 0
    assert _value(after, "autonats_client_calls_total", outcome="ok") == 20
    assert _value(after, "autonats_client_calls_total", outcome="409") == 5
    assert _value(after, "autonats_client_latency_seconds_count") == 25


async def test_autonats_serve_metrics_port(
    nc: nats.aio.client.Client, nats_url: str, tmp_path: Path
) -> None:
    """``autonats serve --metrics-port`` serves /metrics for the handler it runs."""
    port = free_port()
    served = ServeProcess(
        "shop:UserStore",
        "--server",
        nats_url,
        "--prefix",
        "metered-serve",
        "--metrics-port",
        str(port),
        "--metrics-addr",
        "127.0.0.1",
        cwd=EXAMPLES,
        log=tmp_path / "serve.log",
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        await served.wait_serving("serving user", timeout=20)
        client = UserClient(nc, prefix="metered-serve")
        await client.create("Ada")
        with pytest.raises(UserNotFound):
            await client.get_by_id("nobody")

        def fetch() -> str:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())

        families = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(await asyncio.to_thread(fetch))
            for sample in family.samples
        }
        ok = ("autonats_handler_requests_total", "create", "ok")
        missing = ("autonats_handler_requests_total", "get_by_id", "404")
        for name, method, code in (ok, missing):
            key = (name, (("code", code), ("method", method), ("service", "user")))
            assert families[key] == 1
        capacity = (
            "autonats_handler_capacity",
            (("method", "create"), ("service", "user")),
        )
        assert families[capacity] == 5
    finally:
        assert await served.stop() == 0, served.output
