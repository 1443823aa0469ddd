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
import sys
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
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
from autonats.durable import DurableConsumer
from autonats.errors import EncodeError, ServiceError
from autonats.service_api import ServiceResponder
from autonats.spec import DEFAULT_QUEUE, MethodSpec, ServiceSpec, error_fields
from autonats.stats import EndpointStats
from autonats.tracing import Tracing, current_trace_id

__all__ = ["EndpointStats", "Handler"]

log = logging.getLogger("autonats.server")

#: Every handler of this process, for the metrics collector.
handlers: weakref.WeakSet[Handler] = weakref.WeakSet()


class _Reply(Exception):
    """An error reply decided while serving a call (code, message, body).

    ``cause`` is the implementation's exception, for the log only.
    """

    def __init__(
        self,
        code: int,
        message: str,
        kind: str,
        fields: dict[str, Any] | None = None,
        cause: BaseException | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.fields = fields or {}
        self.cause = cause


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
    consumer: DurableConsumer | None = None  # durable oneway methods pull instead


class Handler:
    """Serves ``impl`` (any object with the Protocol's async methods) as service ``spec``.

    Generated ``<Name>Handler`` classes set ``spec``; ``Handler.for_spec(spec)``
    makes such a class at run time.

    ``concurrency`` caps every method's simultaneous calls (default: each
    method's own, 5 unless declared); ``queue_size`` caps the requests waiting
    for a slot per method before the handler sheds with 503. ``tracing``
    (see :mod:`autonats.tracing`) wraps every call in a server span.
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
        tracing: Tracing | None = None,
        metadata: collections.abc.Mapping[str, str] | None = None,
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
        if queue_size is not None and queue_size < 0:
            raise ValueError(f"queue_size must be >= 0, not {queue_size!r}")
        spec = self.spec
        self.nc = nc
        self.impl = impl
        self.prefix = prefix
        self._tracing = tracing
        self.started: float | None = None  # time.time() of run()
        self._endpoints: dict[str, _Endpoint] = {}
        for name, method in spec.methods.items():
            bound = getattr(impl, name, None)
            if bound is None or not callable(bound):
                raise TypeError(
                    f"{type(impl).__name__} does not implement {spec.name}.{name}: "
                    f"add 'async def {name}(...)'"
                )
            limit = concurrency or method.concurrency
            self._endpoints[name] = _Endpoint(
                spec=method,
                impl=bound,
                limit=limit,
                queue_size=DEFAULT_QUEUE if queue_size is None else queue_size,
                stats=EndpointStats(concurrency=limit),
            )
        handlers.add(self)
        self._deadlines = _Deadlines()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False
        #: The ADR-32 ($SRV) side of this handler; ``service.id`` is its instance id.
        self.service = ServiceResponder(self, metadata)

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Subscribe every method and return; calls are served in background tasks."""
        if self._running:
            return
        for ep in self._endpoints.values():
            if ep.spec.durable:
                ep.consumer = DurableConsumer(self, ep)
                await ep.consumer.start()
                continue

            async def on_message(msg: nats.aio.msg.Msg, ep: _Endpoint = ep) -> None:
                self._accept(ep, msg)

            ep.sub = await self.nc.subscribe(
                ep.spec.subject(self.prefix), queue=wire.QUEUE_GROUP, cb=on_message
            )
        self.started = time.time()
        await self.service.start()
        # nats-py writes flush()'s PING straight to the socket while SUBs may still
        # wait in its pending buffer, so one PONG does not prove the server has
        # them. By the second round trip the buffer has been written.
        await self.nc.flush()
        await self.nc.flush()
        self._running = True

    async def shutdown(self) -> None:
        """Stop taking requests, finish and answer every accepted one, then unsubscribe.

        Subscriptions are drained: the server stops routing to this handler, and
        messages it already routed here are still served.
        """
        if not self._running:
            return
        self._running = False
        await self.service.stop()
        for ep in self._endpoints.values():
            if ep.consumer is not None:
                await ep.consumer.stop()
            if ep.sub is not None:
                try:
                    await ep.sub.drain()  # type: ignore[no-untyped-call]
                except nats.errors.Error as exc:
                    log.warning(
                        "draining %s failed: %s", ep.spec.subject(self.prefix), exc
                    )
                ep.sub = None
        await self._idle.wait()
        for ep in self._endpoints.values():
            if ep.consumer is not None:
                await ep.consumer.close()
                ep.consumer = None

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

    @property
    def running(self) -> bool:
        """True between run() and shutdown()."""
        return self._running

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
            stats.finished(0, 503, "overloaded")
            if msg.reply:
                self._spawn(self._send_error(msg, _overloaded()))
            else:
                log.warning(
                    "%s.%s: oneway call dropped: concurrency and queue are full",
                    ep.spec.service,
                    ep.spec.name,
                )

    def _start(self, ep: _Endpoint, msg: nats.aio.msg.Msg, arrived: float) -> None:
        ep.stats.in_flight += 1
        self._spawn(self._serve(ep, msg, arrived))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if sys.version_info >= (3, 12):
            # Run the call in the subscription's callback up to its first await:
            # a handler that never waits replies without an extra loop turn.
            task = asyncio.Task(coro, loop=asyncio.get_running_loop(), eager_start=True)
            if task.done():
                return
        else:
            task = asyncio.ensure_future(coro)
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
        # One task serves its request, then the requests queued behind it:
        # a queue of N costs no extra tasks.
        try:
            while True:
                try:
                    await self._handle(ep, msg, arrived)
                except Exception:  # never let one call take the handler down
                    log.exception(
                        "%s.%s: unexpected failure", ep.spec.service, ep.spec.name
                    )
                if not ep.pending:
                    break
                msg, arrived = ep.pending.popleft()
                ep.stats.queued = len(ep.pending)
        finally:
            ep.stats.in_flight -= 1
            if ep.pending and ep.stats.in_flight < ep.limit:  # left early (cancelled)
                next_msg, next_arrived = ep.pending.popleft()
                ep.stats.queued = len(ep.pending)
                self._start(ep, next_msg, next_arrived)

    async def _handle(
        self, ep: _Endpoint, msg: nats.aio.msg.Msg, arrived: float
    ) -> None:
        """Serve one request and send its reply, in a server span when traced.

        Tracing is inlined rather than wrapped around the call: no extra
        coroutine per call, and nothing at all when it is off.
        """
        spec = ep.spec
        headers = msg.headers or {}
        tracing = self._tracing
        span: Any = None
        token: object = None
        if tracing is not None:
            span, token = tracing.start_server(spec, msg.subject, headers)
        try:
            loop = asyncio.get_running_loop()
            deadline = arrived + _timeout(headers, spec)
            started = time.perf_counter_ns()
            try:
                if loop.time() >= deadline:
                    raise _Reply(
                        504,
                        "deadline exceeded before the call started",
                        "DeadlineExceeded",
                    )
                values = _decode_args(spec, msg.data)
                _current.set(Call(spec.service, spec.name, deadline, headers))
                result = await _run_until(self._deadlines, loop, deadline, ep, values)
                body = b"" if spec.oneway else _encode_result(spec, result)
                if (
                    len(body) > _SMALLEST_MAX_PAYLOAD
                    and len(body) > self.nc.max_payload
                ):
                    raise _Reply(
                        500,
                        f"internal error: the result ({len(body)} bytes) exceeds "
                        f"the server's max_payload ({self.nc.max_payload} bytes)",
                        "InternalError",
                    )
            except _Reply as reply:
                duration = time.perf_counter_ns() - started
                ep.stats.finished(duration, reply.code, reply.message)
                _log_failure(spec, reply, duration)
                if msg.reply:
                    await self._send_error(msg, reply)
                if tracing is not None:
                    tracing.finish(span, reply.code, reply.cause)
                return
            duration = time.perf_counter_ns() - started
            ep.stats.finished(duration, 0, "")
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s.%s ok in %.2f ms", spec.service, spec.name, duration / 1e6
                )
            if msg.reply:
                await self._send(msg.reply, body, None)
            if tracing is not None:
                tracing.finish(span, 0)
        finally:
            if tracing is not None:
                tracing.end(span, token)

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


#: No server accepts less than this (nats-server's minimum max_payload is far
#: above it): smaller replies skip the max_payload lookup.
_SMALLEST_MAX_PAYLOAD = 64 * 1024


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
    except RecursionError:
        raise _Reply(
            400, "the request body is nested too deeply to decode", "BadRequest"
        ) from None
    except UnicodeDecodeError:
        raise _Reply(
            400,
            "the request body is not valid JSON: invalid UTF-8 in a string",
            "BadRequest",
        ) from None


#: Running calls' deadlines are checked this often (seconds): one timer per
#: handler rather than one per call, cancelling at most this much late.
DEADLINE_TICK = 0.01


class _Deadlines:
    """Cancels the tasks whose call outlived its deadline, from one periodic timer."""

    def __init__(self) -> None:
        self._due: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def watch(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], deadline: float
    ) -> None:
        self._due[task] = deadline
        if self._timer is None:
            self._timer = loop.call_later(DEADLINE_TICK, self._sweep, loop)

    def forget(self, task: asyncio.Task[Any]) -> None:
        self._due.pop(task, None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        for task in [t for t, deadline in self._due.items() if deadline <= now]:
            del self._due[task]
            self.expired.add(task)
            task.cancel()
        if self._due:
            self._timer = loop.call_later(DEADLINE_TICK, self._sweep, loop)


async def _run_until(
    deadlines: _Deadlines,
    loop: asyncio.AbstractEventLoop,
    deadline: float,
    ep: _Endpoint,
    values: tuple[Any, ...],
) -> Any:
    task = asyncio.current_task()
    assert task is not None
    deadlines.watch(loop, task, deadline)
    try:
        if ep.spec.by_position:
            return await ep.impl(*values)
        return await codec.call_with(ep.impl, values, ep.spec.params)
    except asyncio.CancelledError:
        if task not in deadlines.expired:
            raise
        deadlines.expired.discard(task)
        uncancel = getattr(task, "uncancel", None)
        if uncancel is not None:  # Python 3.11+: this cancellation is handled
            uncancel()
        raise _Reply(504, "deadline exceeded", "DeadlineExceeded") from None
    except ServiceError as exc:
        raise _service_reply(exc) from None
    except _Reply:
        raise
    except Exception as exc:
        if loop.time() >= deadline:
            # Out of time, e.g. a nested call that inherited this deadline timed
            # out a tick before the sweeper got here: still a deadline, not a bug.
            raise _Reply(504, "deadline exceeded", "DeadlineExceeded") from None
        raise _Reply(500, "internal error", "InternalError", cause=exc) from None
    finally:
        deadlines.forget(task)
        # An implementation may swallow the cancellation: never let the mark
        # outlive this call (the task goes on to serve the calls queued behind).
        deadlines.expired.discard(task)


def _log_failure(spec: MethodSpec, reply: _Reply, duration_ns: int) -> None:
    """One record per failed call; the traceback only for undeclared exceptions."""
    level = logging.ERROR if reply.cause is not None else logging.WARNING
    if reply.code < 500 or reply.code == 503:
        level = logging.INFO
    if not log.isEnabledFor(level):
        return
    trace_id = current_trace_id()
    log.log(
        level,
        "%s.%s failed: %d %s (%.2f ms%s)",
        spec.service,
        spec.name,
        reply.code,
        reply.message,
        duration_ns / 1e6,
        f", trace {trace_id}" if trace_id else "",
        exc_info=reply.cause,
        extra={
            "service": spec.service,
            "method": spec.name,
            "code": reply.code,
            "duration_ms": duration_ns / 1e6,
            "trace_id": trace_id,
        },
    )


def _service_reply(exc: ServiceError) -> _Reply:
    declared = error_fields(type(exc))
    fields = {k: v for k, v in exc.fields.items() if k in declared} if declared else {}
    return _Reply(int(exc.code), exc.message, type(exc).__name__, fields)


def _encode_result(spec: MethodSpec, result: Any) -> bytes:
    try:
        return codec.encode(result)
    except EncodeError as exc:
        raise _Reply(500, "internal error", "InternalError", cause=exc) from None


def _overloaded() -> _Reply:
    return _Reply(503, "overloaded: try again later", "Overloaded")
