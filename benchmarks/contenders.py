"""The contenders: the same echo call served and called by each RPC layer.

Each contender is one class with a handler side (``serve``) and a client side
(``connect``, ``call``, ``publish``). In one process the same object plays both;
with the handler in a separate process (benchmarks/handler.py) the child serves
and the parent calls. Requests are built once per run in the contender's own
type (``request``); encoding and decoding happen inside every timed call.

Subjects carry a namespace so that an in-process handler and a separate-process
handler of the same contender never share a queue group.
"""

from __future__ import annotations

import abc
import asyncio
import itertools
import random
from collections.abc import Callable
from typing import Any, ClassVar

import autonats.runtime
import msgspec
import nats
import nats.aio.client
import nats.aio.msg
import pydantic

from benchmarks.echo import EchoService, Item

__all__ = ["CONTENDERS", "Contender", "by_name"]

CALL_TIMEOUT = 5.0
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Item).decode


async def _connect(url: str) -> nats.aio.client.Client:
    return await nats.connect(url, max_reconnect_attempts=0, name="autonats-bench")


class Contender(abc.ABC):
    """One RPC layer: serves and calls ``echo`` (and ``notify`` where it has oneway)."""

    name: ClassVar[str]  # key used on the command line and in results
    label: ClassVar[str]  # what the table shows
    oneway: ClassVar[bool] = False
    #: True for the variants that measure what tracing costs: reported in a
    #: table of their own, against plain autonats (or raw nats-py) rather than
    #: beside the rivals.
    tracing_cost: ClassVar[bool] = False
    #: None when the contender can run; otherwise why not (the table says so).
    unavailable: ClassVar[str | None] = None

    def __init__(self, namespace: str = "inproc") -> None:
        self.namespace = namespace
        self.received = 0  # oneway messages the handler side has counted

    def subject(self, method: str) -> str:
        return f"{self.namespace}.{self.name}.{method}"

    # -- handler side
    @abc.abstractmethod
    async def serve(self, url: str) -> str:
        """Start serving; return the address clients connect to (the NATS URL or host:port)."""

    @abc.abstractmethod
    async def stop_serving(self) -> None: ...

    # -- client side
    @abc.abstractmethod
    async def connect(self, url: str, address: str) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def request(self, item: Item) -> Any:
        """``item`` in the contender's own request type (built once, outside the timing)."""
        return item

    @abc.abstractmethod
    async def call(self, request: Any) -> Any:
        """One echo call; returns the decoded reply."""

    def same(self, reply: Any, item: Item) -> bool:
        """Whether ``reply`` is ``item`` echoed back."""
        return bool(reply == item)

    async def publish(self, request: Any) -> None:
        """One oneway message to ``notify``."""
        raise NotImplementedError(f"{self.label} has no oneway call")


class RawNats(Contender):
    """nats-py request/reply with a hand-written msgspec JSON responder: the floor."""

    name = "raw"
    label = "raw nats-py"
    oneway = True

    async def serve(self, url: str) -> str:
        self._server_nc = await _connect(url)

        async def echo(msg: nats.aio.msg.Msg) -> None:
            await self._respond(msg, _encode(_decode(msg.data)))

        async def notify(msg: nats.aio.msg.Msg) -> None:
            _decode(msg.data)
            self.received += 1

        await self._server_nc.subscribe(self.subject("echo"), queue="q", cb=echo)
        await self._server_nc.subscribe(self.subject("notify"), queue="q", cb=notify)
        await self._server_nc.flush()
        return url

    async def _respond(self, msg: nats.aio.msg.Msg, body: bytes) -> None:
        await msg.respond(body)

    async def stop_serving(self) -> None:
        await self._server_nc.close()

    async def connect(self, url: str, address: str) -> None:
        self._nc = await _connect(url)
        self._echo = self.subject("echo")
        self._notify = self.subject("notify")

    async def close(self) -> None:
        await self._nc.close()

    async def call(self, request: Item) -> Item:
        msg = await self._nc.request(self._echo, _encode(request), timeout=CALL_TIMEOUT)
        return _decode(msg.data)

    async def publish(self, request: Item) -> None:
        await self._nc.publish(self._notify, _encode(request))


#: A sampled-out W3C trace context, as every traced call carries one.
TRACEPARENT = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}


class RawTraceparent(RawNats):
    """raw nats-py with a W3C ``traceparent`` header on every request and oneway
    message, and nothing else: what carrying a trace context costs in nats-py
    itself (it builds and parses headers in Python), under any tracing."""

    name = "raw-traceparent"
    label = "raw nats-py + traceparent header"
    tracing_cost = True

    async def _respond(self, msg: nats.aio.msg.Msg, body: bytes) -> None:
        # Not msg.respond(): it copies the request's headers into the reply. A
        # reply carries no trace context (autonats' handlers send none).
        await self._server_nc.publish(msg.reply, body)

    async def call(self, request: Item) -> Item:
        msg = await self._nc.request(
            self._echo, _encode(request), timeout=CALL_TIMEOUT, headers=TRACEPARENT
        )
        return _decode(msg.data)

    async def publish(self, request: Item) -> None:
        await self._nc.publish(self._notify, _encode(request), headers=TRACEPARENT)


class NatsMicro(RawNats):
    """A ``nats.micro`` service endpoint (ADR-32), called with plain ``nc.request``."""

    name = "micro"
    label = "nats.micro"
    oneway = False

    async def serve(self, url: str) -> str:
        import nats.micro
        import nats.micro.request

        self._server_nc = await _connect(url)

        async def echo(req: nats.micro.request.Request) -> None:
            await req.respond(_encode(_decode(req.data)))

        self._service = await nats.micro.add_service(
            self._server_nc, name=f"bench-{self.namespace}", version="1.0.0"
        )
        await self._service.add_endpoint(
            name="echo", subject=self.subject("echo"), handler=echo
        )
        await self._server_nc.flush()
        return url

    async def stop_serving(self) -> None:
        await self._service.stop()
        await self._server_nc.close()

    async def publish(self, request: Item) -> None:
        raise NotImplementedError("nats.micro endpoints are request/reply only")


class ItemModel(pydantic.BaseModel):
    """The pydantic twin of :class:`Item`: FastStream validates with pydantic."""

    id: int
    name: str
    email: str
    active: bool
    score: float
    tags: list[str]
    blob: str = ""


class FastStream(Contender):
    """FastStream's NatsBroker: a pydantic-typed subscriber, ``broker.request`` to call."""

    name = "faststream"
    label = "FastStream"
    oneway = True

    async def serve(self, url: str) -> str:
        from faststream.nats import NatsBroker

        self._server = NatsBroker(url, logger=None, max_reconnect_attempts=0)

        async def echo(item: ItemModel) -> ItemModel:
            return item

        async def notify(item: ItemModel) -> None:
            self.received += 1

        self._server.subscriber(self.subject("echo"), queue="q")(echo)
        self._server.subscriber(self.subject("notify"), queue="q")(notify)
        await self._server.start()
        return url

    async def stop_serving(self) -> None:
        await self._server.stop()

    async def connect(self, url: str, address: str) -> None:
        from faststream.nats import NatsBroker

        self._client = NatsBroker(url, logger=None, max_reconnect_attempts=0)
        await self._client.start()
        self._echo = self.subject("echo")
        self._notify = self.subject("notify")

    async def close(self) -> None:
        await self._client.stop()

    def request(self, item: Item) -> ItemModel:
        return ItemModel(**msgspec.structs.asdict(item))

    async def call(self, request: ItemModel) -> ItemModel:
        msg = await self._client.request(request, self._echo, timeout=CALL_TIMEOUT)
        return ItemModel.model_validate_json(msg.body)

    def same(self, reply: Any, item: Item) -> bool:
        return bool(reply.model_dump() == msgspec.structs.asdict(item))

    async def publish(self, request: ItemModel) -> None:
        await self._client.publish(request, self._notify)


class Grpc(Contender):
    """grpcio async (grpc.aio) unary calls through generic handlers.

    No .proto: the method is registered with msgspec JSON (de)serializers of
    :class:`Item`, so gRPC does the same typed encode/decode work as the others.
    """

    name = "grpc"
    label = "grpcio (aio)"
    _method = "/bench.Echo/Echo"

    async def serve(self, url: str) -> str:
        import grpc  # type: ignore[import-untyped]
        import grpc.aio  # type: ignore[import-untyped]

        async def echo(item: Item, context: Any) -> Item:
            return item

        handler = grpc.method_handlers_generic_handler(
            "bench.Echo",
            {
                "Echo": grpc.unary_unary_rpc_method_handler(
                    echo, request_deserializer=_decode, response_serializer=_encode
                )
            },
        )
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers((handler,))
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        return f"127.0.0.1:{port}"

    async def stop_serving(self) -> None:
        await self._server.stop(grace=1.0)

    async def connect(self, url: str, address: str) -> None:
        import grpc.aio

        self._channel = grpc.aio.insecure_channel(address)
        self._stub: Callable[..., Any] = self._channel.unary_unary(
            self._method, request_serializer=_encode, response_deserializer=_decode
        )
        await self._channel.channel_ready()

    async def close(self) -> None:
        await self._channel.close()

    async def call(self, request: Item) -> Item:
        reply: Item = await self._stub(request, timeout=CALL_TIMEOUT)
        return reply


class _EchoImpl:
    def __init__(self, owner: Contender) -> None:
        self._owner = owner

    async def echo(self, item: Item) -> Item:
        return item

    async def notify(self, item: Item) -> None:
        self._owner.received += 1


class Autonats(Contender):
    """autonats' generated BenchClient and BenchHandler (benchmarks/echo_nats.py)."""

    name = "autonats"
    label = "autonats"
    oneway = True
    #: Oneway floods arrive faster than tasks finish; a deep queue keeps the
    #: handler from shedding any, so that every message can be counted.
    queue_size = 1_000_000
    # The plain and the traced generated modules: the same shape, other classes.
    _handler: autonats.runtime.Handler[EchoService]
    _client: EchoService

    @property
    def prefix(self) -> str:
        """Subject prefix of its own: both autonats contenders serve the same
        interface, and must not share (split) each other's messages."""
        return f"{self.namespace}.{self.name}"

    async def serve(self, url: str) -> str:
        from benchmarks.echo_nats import BenchHandler

        self._server_nc = await _connect(url)
        self._handler = BenchHandler(
            self._server_nc,
            _EchoImpl(self),
            queue_size=self.queue_size,
            prefix=self.prefix,
        )
        await self._handler.run()
        return url

    async def stop_serving(self) -> None:
        await self._handler.shutdown()
        await self._server_nc.close()

    async def connect(self, url: str, address: str) -> None:
        from benchmarks.echo_nats import BenchClient

        self._nc = await _connect(url)
        self._client = BenchClient(self._nc, prefix=self.prefix)

    async def close(self) -> None:
        await self._nc.close()

    async def call(self, request: Item) -> Item:
        return await self._client.echo(request)

    async def publish(self, request: Item) -> None:
        await self._client.notify(request)


class AutonatsTraced(Autonats):
    """autonats generated with ``--tracing`` (benchmarks/echo_traced_nats.py), the
    OpenTelemetry SDK with a production-style sampler (parent-based, 1% of new
    traces), and the Prometheus collector registered.

    Spans go to an exporter that drops them, so export I/O is not measured (and
    no batching thread keeps the handler process alive). Metrics cost nothing
    per call by design: the counters are always kept and the collector only
    reads them when scraped.
    """

    name = "autonats-traced"
    label = "autonats + tracing (1% sampled) + metrics"
    tracing_cost = True

    async def serve(self, url: str) -> str:
        from benchmarks.echo_traced_nats import BenchHandler

        _observe()
        self._server_nc = await _connect(url)
        self._handler = BenchHandler(
            self._server_nc,
            _EchoImpl(self),
            queue_size=self.queue_size,
            prefix=self.prefix,
        )
        await self._handler.run()
        return url

    async def connect(self, url: str, address: str) -> None:
        from benchmarks.echo_traced_nats import BenchClient

        _observe()
        self._nc = await _connect(url)
        self._client = BenchClient(self._nc, prefix=self.prefix)


class AutonatsTracedAll(AutonatsTraced):
    """As :class:`AutonatsTraced`, but every span sampled and recorded: the worst
    case, where the OpenTelemetry SDK's own cost per span dominates."""

    name = "autonats-traced-all"
    label = "autonats + tracing (all sampled) + metrics"


class AutonatsTracedMesh(AutonatsTraced):
    """As :class:`AutonatsTraced`, but each call is made inside the trace of an
    upstream request, as the calls of a service in a mesh are: an edge (an HTTP
    server, say) started the trace and sampled 1% of them. The edge's own span
    is not autonats' cost, so the contexts are made before the timing; making
    one current around each call is counted."""

    name = "autonats-traced-mesh"
    label = "autonats + tracing (in 1%-sampled traces) + metrics"

    async def connect(self, url: str, address: str) -> None:
        await super().connect(url, address)
        self._contexts = itertools.cycle(_edge_contexts(1000, sampled=10))

    async def call(self, request: Item) -> Item:
        from opentelemetry import context

        token = context.attach(next(self._contexts))
        try:
            return await self._client.echo(request)
        finally:
            context.detach(token)

    async def publish(self, request: Item) -> None:
        from opentelemetry import context

        token = context.attach(next(self._contexts))
        try:
            await self._client.notify(request)
        finally:
            context.detach(token)


def _edge_contexts(count: int, *, sampled: int) -> list[Any]:
    """``count`` contexts of upstream spans in traces of their own, ``sampled`` of
    them sampled (spread evenly)."""
    from opentelemetry import trace

    step = count // sampled
    contexts = []
    for n in range(count):
        flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if n % step == 0 else 0)
        span = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id=random.getrandbits(128) | 1,
                span_id=random.getrandbits(64) | 1,
                is_remote=False,
                trace_flags=flags,
            )
        )
        contexts.append(trace.set_span_in_context(span))
    return contexts


def _observe() -> None:
    """Install the tracer provider and the metrics collector, once per process.

    One provider serves every traced contender (the global one can be set only
    once). Its sampler is the SDK's default kind, parent-based (a child follows
    its parent's decision), and decides new traces by subject: every one of
    ``autonats-traced-all``'s, 1% of the others'.
    """
    from autonats.observe import metrics
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_ON,
        ParentBased,
        Sampler,
        SamplingResult,
        TraceIdRatioBased,
    )
    from prometheus_client import CollectorRegistry

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class NewTraces(Sampler):
        def __init__(self) -> None:
            self._all = ALWAYS_ON
            self._some = TraceIdRatioBased(0.01)

        def should_sample(
            self, parent_context: Any, trace_id: int, name: str, *args: Any, **kw: Any
        ) -> SamplingResult:
            attributes = kw.get("attributes") or (args[1] if len(args) > 1 else None)
            subject = str((attributes or {}).get("messaging.destination.name", ""))
            chosen = self._all if AutonatsTracedAll.name in subject else self._some
            return chosen.should_sample(parent_context, trace_id, name, *args, **kw)

        def get_description(self) -> str:
            return "autonats benchmark: all of autonats-traced-all, 1% of the rest"

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider(sampler=ParentBased(NewTraces()))
        provider.add_span_processor(SimpleSpanProcessor(Discard()))
        trace.set_tracer_provider(provider)
    global _registry
    if _registry is None:
        _registry = CollectorRegistry()
        metrics.register(_registry)


_registry: Any = None


#: Table order: the floor first, autonats last.
CONTENDERS: tuple[type[Contender], ...] = (
    RawNats,
    NatsMicro,
    FastStream,
    Grpc,
    Autonats,
    RawTraceparent,
    AutonatsTraced,
    AutonatsTracedMesh,
    AutonatsTracedAll,
)


def by_name(name: str) -> type[Contender]:
    """The contender class called ``name``."""
    for cls in CONTENDERS:
        if cls.name == name:
            return cls
    raise KeyError(name)


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio``: which event loop runs the caller."""
    loop = asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
