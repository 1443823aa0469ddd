"""One trace across three services (alpha -> beta -> gamma, plus a oneway call,
and a durable one), collected with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from autonats import codegen
from autonats.observe.tracing import current_trace_id
from autonats.testing import NatsServer
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    StatusCode,
    TraceFlags,
)

from chain import Boom
from chain_nats import (
    AlphaClient,
    AlphaHandler,
    BetaClient,
    BetaHandler,
    DeltaClient,
    DeltaHandler,
    GammaClient,
    GammaHandler,
    GammaSyncClient,
)
from support import global_tracer_provider, wait_until

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with global_tracer_provider(provider):
        yield memory
    memory.clear()


class AlphaImpl:
    def __init__(self, beta: BetaClient) -> None:
        self.beta = beta

    async def run(self, fail: bool = False) -> str:
        await self.beta.note("alpha was here")
        return "alpha+" + await self.beta.run(fail)


class BetaImpl:
    def __init__(self, gamma: GammaClient) -> None:
        self.gamma = gamma
        self.notes: list[str] = []
        self.noted = asyncio.Event()

    async def run(self, fail: bool) -> str:
        return "beta+" + await self.gamma.run(fail)

    async def note(self, text: str) -> None:
        self.notes.append(text)
        self.noted.set()


class GammaImpl:
    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    async def run(self, fail: bool) -> str:
        self.trace_ids.append(current_trace_id())
        if fail:
            raise Boom("gamma failed")
        return "gamma"

    async def ticks(self, n: int) -> AsyncIterator[str]:
        for _ in range(n):
            yield current_trace_id()  # the generator runs in the server span


GAMMA = GammaImpl()


@pytest.fixture
async def chain(nats_url: str) -> AsyncIterator[tuple[AlphaClient, BetaImpl]]:
    # One connection per service, as if each ran in its own process.
    conns = [await nats.connect(nats_url) for _ in range(4)]
    a_nc, b_nc, c_nc, caller = conns
    beta = BetaImpl(GammaClient(b_nc))
    async with (
        GammaHandler(c_nc, GAMMA),
        BetaHandler(b_nc, beta),
        AlphaHandler(a_nc, AlphaImpl(BetaClient(a_nc))),
    ):
        yield AlphaClient(caller), beta
    for conn in conns:
        await conn.close()


def _by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    named = {s.name: s for s in spans}
    assert len(named) == len(spans), [s.name for s in spans]
    return named


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_trace_spans_every_service(
    exporter: InMemorySpanExporter, chain: tuple[AlphaClient, BetaImpl]
) -> None:
    client, beta = chain
    exporter.clear()
    assert await client.run() == "alpha+beta+gamma"
    await asyncio.wait_for(beta.noted.wait(), 5)
    await asyncio.sleep(0.05)  # the oneway server span ends after the impl returns

    spans = _by_name(exporter.get_finished_spans())
    expected = {
        "autonats:AlphaClient:run",
        "autonats:AlphaServer:run",
        "autonats:BetaClient:run",
        "autonats:BetaServer:run",
        "autonats:GammaClient:run",
        "autonats:GammaServer:run",
        "autonats:BetaClient:note",
        "autonats:BetaServer:note",
    }
    assert set(spans) == expected
    assert len({s.context.trace_id for s in spans.values()}) == 1

    def sid(name: str) -> int:
        return spans[name].context.span_id

    assert _parent(spans["autonats:AlphaClient:run"]) is None
    assert _parent(spans["autonats:AlphaServer:run"]) == sid("autonats:AlphaClient:run")
    assert _parent(spans["autonats:BetaClient:run"]) == sid("autonats:AlphaServer:run")
    assert _parent(spans["autonats:BetaServer:run"]) == sid("autonats:BetaClient:run")
    assert _parent(spans["autonats:GammaClient:run"]) == sid("autonats:BetaServer:run")
    assert _parent(spans["autonats:GammaServer:run"]) == sid("autonats:GammaClient:run")
    assert _parent(spans["autonats:BetaClient:note"]) == sid("autonats:AlphaServer:run")
    assert _parent(spans["autonats:BetaServer:note"]) == sid("autonats:BetaClient:note")

    assert spans["autonats:AlphaClient:run"].kind is SpanKind.CLIENT
    assert spans["autonats:AlphaServer:run"].kind is SpanKind.SERVER
    assert spans["autonats:BetaClient:note"].kind is SpanKind.PRODUCER
    assert spans["autonats:BetaServer:note"].kind is SpanKind.CONSUMER
    server = spans["autonats:GammaServer:run"]
    assert server.attributes is not None
    assert server.attributes["rpc.system"] == "autonats"
    assert server.attributes["rpc.service"] == "gamma"
    assert server.attributes["rpc.method"] == "run"
    assert server.attributes["messaging.destination.name"] == "autonats.gamma.run"
    assert server.attributes["rpc.response.status_code"] == "0"
    assert all(s.status.status_code is not StatusCode.ERROR for s in spans.values())


async def test_a_stream_is_one_span_on_each_side(
    exporter: InMemorySpanExporter, nats_url: str
) -> None:
    hnc, nc = await nats.connect(nats_url), await nats.connect(nats_url)
    try:
        async with GammaHandler(hnc, GammaImpl()):
            exporter.clear()
            tracer = trace.get_tracer("test")
            with tracer.start_as_current_span("caller") as caller:
                ids = [i async for i in GammaClient(nc).ticks(3)]
            await asyncio.sleep(0.05)  # the server span ends after the end message
    finally:
        await hnc.close()
        await nc.close()
    spans = _by_name(exporter.get_finished_spans())
    assert set(spans) == {
        "caller",
        "autonats:GammaClient:ticks",
        "autonats:GammaServer:ticks",
    }
    client, server = (
        spans["autonats:GammaClient:ticks"],
        spans["autonats:GammaServer:ticks"],
    )
    assert _parent(client) == caller.get_span_context().span_id
    assert _parent(server) == client.context.span_id
    assert (client.kind, server.kind) == (SpanKind.CLIENT, SpanKind.SERVER)
    assert ids == [format(client.context.trace_id, "032x")] * 3


def test_a_blocking_call_is_a_child_of_the_calling_threads_span(
    exporter: InMemorySpanExporter, nats_server: NatsServer
) -> None:
    import autonats.sync

    done = threading.Event()
    holder: dict[str, object] = {}

    def serve() -> None:
        async def main() -> None:
            hnc = await nats.connect(nats_server.url)
            async with GammaHandler(hnc, GammaImpl()):
                await hnc.flush()
                holder["ready"] = True
                while not done.is_set():
                    await asyncio.sleep(0.02)
            await hnc.close()

        asyncio.run(main())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        wait_until(lambda: "ready" in holder, what="the handler")
        exporter.clear()
        with autonats.sync.connect(nats_server.url) as conn:
            tracer = trace.get_tracer("test")
            with tracer.start_as_current_span("view") as view:
                assert GammaSyncClient(conn).run(False) == "gamma"
    finally:
        done.set()
        thread.join(30)
    spans = _by_name(exporter.get_finished_spans())
    client = spans["autonats:GammaClient:run"]
    assert _parent(client) == view.get_span_context().span_id
    assert _parent(spans["autonats:GammaServer:run"]) == client.context.span_id


async def test_failure_marks_every_span_on_the_path(
    exporter: InMemorySpanExporter, chain: tuple[AlphaClient, BetaImpl]
) -> None:
    client, beta = chain
    exporter.clear()
    with pytest.raises(Boom):
        await client.run(fail=True)
    await asyncio.wait_for(beta.noted.wait(), 5)
    await asyncio.sleep(0.05)
    spans = _by_name(exporter.get_finished_spans())
    for name in (
        "autonats:AlphaClient:run",
        "autonats:AlphaServer:run",
        "autonats:BetaClient:run",
        "autonats:BetaServer:run",
        "autonats:GammaClient:run",
        "autonats:GammaServer:run",
    ):
        assert spans[name].status.status_code is StatusCode.ERROR, name
    attributes = spans["autonats:GammaServer:run"].attributes
    assert attributes is not None
    assert attributes["rpc.response.status_code"] == "418"
    assert spans["autonats:BetaServer:note"].status.status_code is not StatusCode.ERROR


async def test_an_unsampled_trace_is_carried_but_not_recorded(
    exporter: InMemorySpanExporter, chain: tuple[AlphaClient, BetaImpl]
) -> None:
    client, beta = chain
    exporter.clear()
    parent = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=True,
        trace_flags=TraceFlags(0),  # the caller decided not to sample
    )
    token = context.attach(trace.set_span_in_context(NonRecordingSpan(parent)))
    try:
        assert await client.run() == "alpha+beta+gamma"
    finally:
        context.detach(token)
    await asyncio.wait_for(beta.noted.wait(), 5)
    await asyncio.sleep(0.05)
    # Every hop saw the same trace, three services down, and nobody recorded it.
    assert GAMMA.trace_ids[-1] == "0af7651916cd43dd8448eb211c80319c"
    assert exporter.get_finished_spans() == ()


async def test_a_span_current_at_run_is_no_parent_of_the_calls_served(
    exporter: InMemorySpanExporter, nats_url: str
) -> None:
    """Subscription tasks inherit the context run() was called in; a span
    current there must not become the parent of what the handler serves."""
    conns = [await nats.connect(nats_url) for _ in range(3)]
    b_nc, c_nc, caller = conns
    gamma = GammaImpl()
    unsampled = SpanContext(
        trace_id=0x1F2E3D4C5B6A79881F2E3D4C5B6A7988,
        span_id=0x1122334455667788,
        is_remote=True,
        trace_flags=TraceFlags(0),
    )
    handlers = [
        GammaHandler(c_nc, gamma),
        BetaHandler(b_nc, BetaImpl(GammaClient(b_nc))),
    ]
    try:
        with trace.get_tracer("test").start_as_current_span("setup") as setup:
            for handler in handlers:
                await handler.run()
        exporter.clear()
        # No trace context: the server span starts a trace of its own.
        reply = await caller.request(
            "autonats.gamma.run", b'{"fail": false}', timeout=5
        )
        assert reply.data == b'"gamma"'
        # An unsampled trace: beta's call to gamma carries the caller's trace.
        token = context.attach(trace.set_span_in_context(NonRecordingSpan(unsampled)))
        try:
            assert await BetaClient(caller).run(False) == "beta+gamma"
        finally:
            context.detach(token)
    finally:
        for handler in handlers:
            await handler.shutdown()
        for conn in conns:
            await conn.close()

    served = [
        s for s in exporter.get_finished_spans() if s.name == "autonats:GammaServer:run"
    ]
    assert len(served) == 1  # the unsampled call made no span
    assert served[0].parent is None
    assert served[0].context.trace_id != setup.get_span_context().trace_id
    assert gamma.trace_ids == [
        format(served[0].context.trace_id, "032x"),
        format(unsampled.trace_id, "032x"),
    ]


class DeltaImpl:
    """Fails the first delivery of every call, succeeds on the redelivery."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.trace_ids: list[str] = []
        self.done = asyncio.Event()

    async def record(self, text: str, fail: bool = False) -> None:
        self.trace_ids.append(current_trace_id())
        first = text not in self.seen
        self.seen.append(text)
        if first:
            raise RuntimeError("first delivery fails")
        self.done.set()

    async def tally(self, text: str) -> None:
        if text == "cancel":
            raise asyncio.CancelledError  # as a task torn down mid-call is
        self.seen.append(text)
        self.done.set()


@pytest.fixture(scope="module")
def jetstream_url() -> Iterator[str]:
    with NatsServer(jetstream=True) as server:
        yield server.url


async def test_a_durable_call_is_traced_on_every_delivery(
    exporter: InMemorySpanExporter, jetstream_url: str
) -> None:
    impl = DeltaImpl()
    conns = [await nats.connect(jetstream_url) for _ in range(2)]
    try:
        async with DeltaHandler(conns[0], impl):
            exporter.clear()
            await DeltaClient(conns[1]).record("hello")
            await asyncio.wait_for(impl.done.wait(), 10)
            await asyncio.sleep(0.05)  # the span ends after the ack
    finally:
        for conn in conns:
            await conn.close()

    spans = exporter.get_finished_spans()
    client = [s for s in spans if s.name == "autonats:DeltaClient:record"]
    server = [s for s in spans if s.name == "autonats:DeltaServer:record"]
    assert len(client) == 1 and len(server) == 2, [s.name for s in spans]
    assert client[0].kind is SpanKind.PRODUCER
    for span in server:
        assert span.kind is SpanKind.CONSUMER
        assert span.context.trace_id == client[0].context.trace_id
        assert _parent(span) == client[0].context.span_id
    failed, succeeded = sorted(server, key=lambda s: s.start_time or 0)
    assert failed.status.status_code is StatusCode.ERROR
    assert _attribute(failed, "rpc.response.status_code") == "500"
    assert succeeded.status.status_code is not StatusCode.ERROR
    assert _attribute(succeeded, "rpc.response.status_code") == "0"
    expected = format(client[0].context.trace_id, "032x")
    assert impl.trace_ids == [expected, expected]


async def test_a_cancelled_delivery_ends_its_span_and_frees_its_slot(
    exporter: InMemorySpanExporter, jetstream_url: str
) -> None:
    # tally has one slot: a delivery cancelled mid-call must give it back, or
    # the next call is never fetched.
    impl = DeltaImpl()
    conns = [await nats.connect(jetstream_url) for _ in range(2)]
    try:
        async with DeltaHandler(conns[0], impl):
            exporter.clear()
            client = DeltaClient(conns[1])
            await client.tally("cancel")
            await client.tally("after")
            await asyncio.wait_for(impl.done.wait(), 10)
    finally:
        for conn in conns:
            await conn.close()

    assert impl.seen == ["after"]
    server = sorted(
        (
            s
            for s in exporter.get_finished_spans()
            if s.name == "autonats:DeltaServer:tally"
        ),
        key=lambda s: s.start_time or 0,
    )
    assert len(server) == 2
    cancelled, after = server
    assert _attribute(cancelled, "rpc.response.status_code") is None  # no outcome
    assert _attribute(after, "rpc.response.status_code") == "0"


def _attribute(span: ReadableSpan, name: str) -> object:
    return (span.attributes or {}).get(name)


def test_generated_code_is_fresh_and_tracing_is_opt_in(tmp_path: Path) -> None:
    traced = codegen.generate(HERE / "chain.py", tracing=True)
    assert (HERE / "chain_nats.py").read_text() == traced
    plain = codegen.generate(HERE / "chain.py")
    assert "tracing" not in plain and "opentelemetry" not in plain
    assert "traced = True" in traced and "_traced = True" in traced
    assert "traced" not in plain

    # Both variants are ruff- and mypy --strict-clean.
    (tmp_path / "chain.py").write_text((HERE / "chain.py").read_text())
    (tmp_path / "traced_nats.py").write_text(traced)
    (tmp_path / "plain_nats.py").write_text(plain)
    bin_dir = Path(sys.executable).parent
    config = ["--config", str(ROOT / "pyproject.toml")]
    files = ["traced_nats.py", "plain_nats.py"]
    for cmd in (
        [str(bin_dir / "ruff"), "format", "--check", *config, *files],
        [str(bin_dir / "ruff"), "check", *config, *files],
        [str(bin_dir / "mypy"), "--strict", "--no-incremental", *files],
    ):
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
