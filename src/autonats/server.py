"""The handler runtime: serves any implementation of a service's Protocol.

Each method is one NATS subscription in the shared queue group. nats-py calls a
subscription's callback one message at a time, so the callback never awaits the
implementation: it starts a task per message, up to the method's concurrency,
and parks further messages in a bounded queue; past that it sheds with 503.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.aio.subscription
import nats.errors
from autonats import codec, wire
from autonats.context import Call, _current
from autonats.errors import EncodeError, ServiceError
from autonats.spec import DEFAULT_QUEUE, MethodSpec, ServiceSpec, error_fields

__all__ = ["EndpointStats", "Handler"]

log = logging.getLogger("autonats.server")


@dataclass
class EndpointStats:
    """Counters of one method on one handler (the ADR-32 ``$SRV.STATS`` endpoint fields)."""

    num_requests: int = 0
    num_errors: int = 0
    last_error: str = ""
    processing_time: int = 0  # nanoseconds, summed over finished calls
    in_flight: int = 0
    queued: int = 0
    shed: int = 0

    @property
    def average_processing_time(self) -> int:
        """Mean nanoseconds per finished call."""
        return self.processing_time // self.num_requests if self.num_requests else 0


class _Reply(Exception):
    """An error reply decided while serving a call (code, message, body)."""

    def __init__(
        self, code: int, message: str, kind: str, fields: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.fields = fields or {}


@dataclass(eq=False)
class _Endpoint:
    spec: MethodSpec
    impl: Callable[..., Awaitable[Any]]
    limit: int
    queue_size: int
    stats: EndpointStats = field(default_factory=EndpointStats)
    pending: collections.deque[tuple[nats.aio.msg.Msg, float]] = field(
        default_factory=collections.deque
    )
    sub: nats.aio.subscription.Subscription | None = None


class Handler:
    """Serves ``impl`` (any object with the Protocol's async methods) as service ``spec``.

    Generated ``<Name>Handler`` classes set ``spec``; ``Handler.for_spec(spec)``
    makes such a class at run time.

    ``concurrency`` caps every method's simultaneous calls (default: each
    method's own, 5 unless declared); ``queue_size`` caps the requests waiting
    for a slot per method before the handler sheds with 503.
    """

    spec: ClassVar[ServiceSpec]

    @classmethod
    def for_spec(cls, spec: ServiceSpec) -> type[Handler]:
        """A Handler class serving ``spec``."""
        return type(f"{spec.protocol.__name__}Handler", (cls,), {"spec": spec})

    def __init__(
        self,
        nc: nats.aio.client.Client,
        impl: object,
        *,
        concurrency: int | None = None,
        queue_size: int | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
        if queue_size is not None and queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, not {queue_size!r}")
        spec = self.spec
        self.nc = nc
        self.impl = impl
        self.prefix = prefix
        self.started: float | None = None  # time.time() of run()
        self._endpoints: dict[str, _Endpoint] = {}
        for name, method in spec.methods.items():
            bound = getattr(impl, name, None)
            if bound is None or not callable(bound):
                raise TypeError(
                    f"{type(impl).__name__} does not implement {spec.name}.{name}: "
                    f"add 'async def {name}(...)'"
                )
            self._endpoints[name] = _Endpoint(
                spec=method,
                impl=bound,
                limit=concurrency or method.concurrency,
                queue_size=DEFAULT_QUEUE if queue_size is None else queue_size,
            )
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Subscribe every method and return; calls are served in background tasks."""
        if self._running:
            return
        for ep in self._endpoints.values():

            async def on_message(msg: nats.aio.msg.Msg, ep: _Endpoint = ep) -> None:
                self._accept(ep, msg)

            ep.sub = await self.nc.subscribe(
                ep.spec.subject(self.prefix), queue=wire.QUEUE_GROUP, cb=on_message
            )
        await self.nc.flush()
        self.started = time.time()
        self._running = True

    async def shutdown(self) -> None:
        """Stop taking requests, finish and answer every accepted one, then unsubscribe.

        Subscriptions are drained: the server stops routing to this handler, and
        messages it already routed here are still served.
        """
        if not self._running:
            return
        self._running = False
        for ep in self._endpoints.values():
            if ep.sub is not None:
                try:
                    await ep.sub.drain()  # type: ignore[no-untyped-call]
                except nats.errors.Error as exc:
                    log.warning(
                        "draining %s failed: %s", ep.spec.subject(self.prefix), exc
                    )
                ep.sub = None
        await self._idle.wait()

    async def __aenter__(self) -> Handler:
        await self.run()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    def stats(self) -> dict[str, EndpointStats]:
        """Live counters per method name."""
        return {name: ep.stats for name, ep in self._endpoints.items()}

    # -- dispatch ----------------------------------------------------------

    def _accept(self, ep: _Endpoint, msg: nats.aio.msg.Msg) -> None:
        arrived = asyncio.get_running_loop().time()
        stats = ep.stats
        if stats.in_flight < ep.limit:
            self._start(ep, msg, arrived)
        elif len(ep.pending) < ep.queue_size:
            ep.pending.append((msg, arrived))
            stats.queued = len(ep.pending)
        else:
            stats.shed += 1
            stats.num_requests += 1
            self._count_error(ep, 503, "overloaded")
            if msg.reply:
                self._spawn(self._send_error(msg, _overloaded(ep)))
            else:
                log.warning(
                    "%s.%s: oneway call dropped: concurrency and queue are full",
                    ep.spec.service,
                    ep.spec.name,
                )

    def _start(self, ep: _Endpoint, msg: nats.aio.msg.Msg, arrived: float) -> None:
        ep.stats.in_flight += 1
        self._spawn(self._serve(ep, msg, arrived))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def _serve(
        self, ep: _Endpoint, msg: nats.aio.msg.Msg, arrived: float
    ) -> None:
        try:
            await self._handle(ep, msg, arrived)
        except Exception:  # never let one call take the handler down
            log.exception("%s.%s: unexpected failure", ep.spec.service, ep.spec.name)
        finally:
            ep.stats.in_flight -= 1
            if ep.pending:
                next_msg, next_arrived = ep.pending.popleft()
                ep.stats.queued = len(ep.pending)
                self._start(ep, next_msg, next_arrived)

    async def _handle(
        self, ep: _Endpoint, msg: nats.aio.msg.Msg, arrived: float
    ) -> None:
        spec = ep.spec
        loop = asyncio.get_running_loop()
        headers = msg.headers or {}
        deadline = arrived + _timeout(headers, spec)
        started = time.perf_counter_ns()
        try:
            if loop.time() >= deadline:
                raise _Reply(
                    504, "deadline exceeded before the call started", "DeadlineExceeded"
                )
            values = _decode_args(spec, msg.data)
            _current.set(Call(spec.service, spec.name, deadline, headers))
            result = await _run_until(loop, deadline, ep, values)
            body = b"" if spec.oneway else _encode_result(spec, result)
        except _Reply as reply:
            self._finish(ep, started, reply.code, reply.message)
            if reply.code >= 500 and reply.code != 503:
                log.warning(
                    "%s.%s failed: %d %s",
                    spec.service,
                    spec.name,
                    reply.code,
                    reply.message,
                )
            if msg.reply:
                await self._send_error(msg, reply)
            return
        self._finish(ep, started, 0, "")
        if msg.reply:
            await self._send(msg.reply, body, None)

    def _finish(self, ep: _Endpoint, started: int, code: int, message: str) -> None:
        stats = ep.stats
        stats.num_requests += 1
        stats.processing_time += time.perf_counter_ns() - started
        if code:
            self._count_error(ep, code, message)

    @staticmethod
    def _count_error(ep: _Endpoint, code: int, message: str) -> None:
        ep.stats.num_errors += 1
        ep.stats.last_error = f"{code}:{message}"

    async def _send_error(self, msg: nats.aio.msg.Msg, reply: _Reply) -> None:
        body = wire.ErrorBody(type=reply.kind, code=reply.code, message=reply.message)
        if reply.fields:
            body.fields = reply.fields
        try:
            data = codec.encode(body)
        except EncodeError:
            body.fields = {}
            data = codec.encode(body)
        await self._send(msg.reply, data, wire.error_headers(reply.code, reply.message))

    async def _send(
        self, subject: str, data: bytes, headers: dict[str, str] | None
    ) -> None:
        try:
            await self.nc.publish(subject, data, headers=headers)
        except nats.errors.Error as exc:
            log.warning("%s: reply not sent: %s", self.spec.name, exc)


def _timeout(headers: dict[str, str], spec: MethodSpec) -> float:
    text = headers.get(wire.TIMEOUT_HEADER)
    if text is not None:
        try:
            return int(text) / 1000
        except ValueError:
            pass
    return spec.timeout


def _decode_args(spec: MethodSpec, data: bytes) -> tuple[Any, ...]:
    if not spec.params:
        if data and data.strip() not in (b"{}", b"null"):
            # Still reject bodies that are not JSON objects, but cheaply.
            _decode_struct(spec, data)
        return ()
    args = _decode_struct(spec, data or b"{}")
    return msgspec.structs.astuple(args)


def _decode_struct(spec: MethodSpec, data: bytes) -> Any:
    try:
        return spec.args_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise _Reply(400, codec.describe_validation_error(exc), "BadRequest") from None
    except msgspec.DecodeError as exc:
        raise _Reply(
            400, f"the request body is not valid JSON: {exc}", "BadRequest"
        ) from None


async def _run_until(
    loop: asyncio.AbstractEventLoop,
    deadline: float,
    ep: _Endpoint,
    values: tuple[Any, ...],
) -> Any:
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = loop.call_at(deadline, expire)
    try:
        if ep.spec.by_position:
            return await ep.impl(*values)
        return await codec.call_with(ep.impl, values, ep.spec.params)
    except asyncio.CancelledError:
        if not expired:
            raise
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:
            uncancel()
        raise _Reply(504, "deadline exceeded", "DeadlineExceeded") from None
    except ServiceError as exc:
        raise _service_reply(exc) from None
    except _Reply:
        raise
    except Exception:
        log.exception("%s.%s raised", ep.spec.service, ep.spec.name)
        raise _Reply(500, "internal error", "InternalError") from None
    finally:
        timer.cancel()


def _service_reply(exc: ServiceError) -> _Reply:
    declared = error_fields(type(exc))
    fields = {k: v for k, v in exc.fields.items() if k in declared} if declared else {}
    return _Reply(int(exc.code), exc.message, type(exc).__name__, fields)


def _encode_result(spec: MethodSpec, result: Any) -> bytes:
    try:
        return codec.encode(result)
    except EncodeError as exc:
        log.error(
            "%s.%s returned a value that cannot be encoded: %s",
            spec.service,
            spec.name,
            exc,
        )
        raise _Reply(500, "internal error", "InternalError") from None


def _overloaded(ep: _Endpoint) -> _Reply:
    return _Reply(503, "overloaded: try again later", "Overloaded")
