"""The handler runtime: serves any implementation of a service's Protocol.

Every message, whatever carried it, is served by one path,
:meth:`Handler._serve_one`: decode -> deadline -> invoke the implementation
(holding a concurrency slot) -> encode -> settle. Transports differ only in
how a message arrives and how its outcome is settled:

- a core NATS subscription in the queue group (request/reply and oneway
  methods): settle = reply on the message's reply subject, if it has one;
- a JetStream consumer (durable oneway methods, :mod:`autonats.runtime.durable`):
  settle = ack, nak with backoff, or dead-letter and ack.

A stream method arrives like a request; its invoke step runs the stream's
whole life and its settle step sends the error that ends a failed stream
(:mod:`autonats.runtime.stream_handler`).

nats-py calls a subscription's callback one message at a time, so the callback
never awaits the implementation: it starts a task per message, up to the
method's concurrency, and parks further messages in a queue; a request past
the queue's bound is shed with 503 (the client retries), a oneway call past
its (much larger) bound is dropped and counted.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.errors
from autonats import _denials
from autonats._translate import nats_error
from autonats.contract import codec, wire
from autonats.contract.spec import DEFAULT_QUEUE, MethodSpec, ServiceSpec
from autonats.errors import AutonatsError, EncodeError, PermissionDenied, ServiceError
from autonats.observe import tracing as tracing_
from autonats.observe.service_api import ServiceResponder
from autonats.observe.stats import EndpointStats, OutlierStats, live_handlers
from autonats.observe.tracing import Tracing, current_trace_id
from autonats.runtime import deadlines, endpoint, permissions
from autonats.runtime.context import _current
from autonats.runtime.durable import DurableConsumer, StreamOptions, Streams
from autonats.runtime.endpoint import Endpoint
from autonats.runtime.outlier import Ejector, OutlierEjection
from autonats.runtime.reply import Reply, overloaded, service_reply
from autonats.runtime.stream_handler import StreamMethod

__all__ = ["Handler", "Settle"]

log = logging.getLogger("autonats.handler")

P = TypeVar("P")

#: Dropped oneway calls are logged at most once per this many seconds, per method.
DROP_LOG_INTERVAL = 10.0

#: How a transport settles a served message: ``(endpoint, msg, failure, body)``,
#: where ``failure`` is None on success and ``body`` the encoded result.
Settle = Callable[[Endpoint, nats.aio.msg.Msg, "Reply | None", bytes], Awaitable[None]]


class Handler(Generic[P]):
    """Serves ``impl`` (any object with the Protocol's async methods) as service ``spec``.

    Generated ``<Name>Handler`` classes set ``spec``; ``Handler.for_spec(spec)``
    makes such a class at run time.

    ``concurrency`` caps every method's simultaneous calls (default: each
    method's own, 5 unless declared); ``queue_size`` caps the requests waiting
    for a slot per method before the handler sheds with 503 (oneway calls queue
    up to :data:`ONEWAY_QUEUE_MESSAGES`). ``tracing`` (see
    :mod:`autonats.observe.tracing`) wraps every call in a server span.
    ``metadata`` is published in ``$SRV.INFO``.

    ``outlier`` (on by default; ``False`` turns it off): when this instance
    fails a method far more than its peers do, it steps out of the method's
    queue group for a while; see :class:`autonats.runtime.outlier.OutlierEjection`.

    Durable methods only: ``replicas`` of the service's JetStream streams
    (default: 3 when the connected JetStream has 3 or more servers, else 1),
    ``dead_letter_max_age`` (seconds) and ``dead_letter_max_bytes`` bound the
    dead-letter stream (default 7 days, 256 MiB); see
    :class:`autonats.runtime.durable.StreamOptions`.
    """

    spec: ClassVar[ServiceSpec]
    #: Generated with ``--tracing``: serve in spans when OpenTelemetry is installed.
    traced: ClassVar[bool] = False

    @classmethod
    def for_spec(cls, spec: ServiceSpec) -> type[Handler[Any]]:
        """A Handler class serving ``spec``."""
        return type(f"{spec.protocol.__name__}Handler", (cls,), {"spec": spec})

    def __init__(
        self,
        nc: nats.aio.client.Client,
        impl: P,
        *,
        concurrency: int | None = None,
        queue_size: int | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
        tracing: Tracing | None = None,
        metadata: Mapping[str, str] | None = None,
        replicas: int | None = None,
        dead_letter_max_age: float | None = None,
        dead_letter_max_bytes: int | None = None,
        outlier: OutlierEjection | bool | None = None,
    ) -> None:
        if concurrency is not None and (
            not isinstance(concurrency, int) or concurrency < 1
        ):
            raise ValueError(
                f"concurrency must be an integer >= 1, not {concurrency!r}"
            )
        if queue_size is not None and (
            not isinstance(queue_size, int) or queue_size < 0
        ):
            raise ValueError(f"queue_size must be an integer >= 0, not {queue_size!r}")
        wire.check_prefix(prefix)
        stream_options = StreamOptions(
            replicas, dead_letter_max_age, dead_letter_max_bytes
        )
        if tracing is None and self.traced:
            tracing = tracing_.enabled()
        if outlier is None or outlier is True:
            outlier = OutlierEjection()
        elif outlier is not False and not isinstance(outlier, OutlierEjection):
            raise TypeError(
                "outlier must be True, False or an "
                f"autonats.runtime.OutlierEjection, not {outlier!r}"
            )
        spec = self.spec
        self.nc = nc
        self.impl = impl
        self.prefix = prefix
        self._tracing = tracing
        self.started: float | None = None  # time.time() of run()
        self._endpoints: dict[str, Endpoint] = {}
        self._streams: dict[str, StreamMethod] = {}
        self._consumers: dict[str, DurableConsumer] = {}
        self._stream_options = stream_options
        for name, method in spec.methods.items():
            bound = getattr(impl, name, None)
            if bound is None or not callable(bound):
                raise TypeError(
                    f"{type(impl).__name__} does not implement {spec.name}.{name}: "
                    f"add 'async def {name}(...)'"
                )
            ep = self._endpoints[name] = Endpoint(
                method,
                bound,
                concurrency or method.concurrency,
                DEFAULT_QUEUE if queue_size is None else queue_size,
            )
            if outlier and not method.durable:  # durable calls are pulled, not routed
                self._endpoints[name].stats.outlier = OutlierStats(outlier.window)
            if method.stream:
                if inspect.iscoroutinefunction(bound):
                    raise TypeError(
                        f"{type(impl).__name__}.{name} is a coroutine function, but "
                        f"{spec.name}.{name} is a stream: make it an async "
                        "generator (yield each item)"
                    )
                streams = self._streams[name] = StreamMethod(nc, ep, _expire)
                ep.direct = False
                ep.invoke = streams.invoke
                ep.settle = streams.settle
        self._outlier = outlier or None
        self._ejector: Ejector | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._running = False
        self._unlisten: Callable[[], None] = _nothing
        self._denied_logged: set[_denials.Denial] = set()
        self._deadlines: deadlines.Deadlines  # the running loop's, set by run()
        #: The ADR-32 ($SRV) side of this handler; ``service.id`` is its instance id.
        self.service = ServiceResponder(self, metadata)
        live_handlers.add(self)

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> None:
        """Subscribe every method and return; calls are served in background tasks.

        If any step fails, what was set up is undone and one
        :class:`~autonats.AutonatsError` says which step; a subscription or
        JetStream request the server refuses raises
        :class:`~autonats.PermissionDenied` naming the subject, at once.
        """
        if self._running:
            return
        self._deadlines = deadlines.for_loop(asyncio.get_running_loop())
        denials = _denials.guard(self.nc)
        needed = permissions.for_handler(
            self.spec,
            prefix=self.prefix,
            inbox_prefix=permissions.inbox_prefix_of(self.nc),
        )
        steps = ["starting"]
        try:
            await denials.race(self._subscribe_all(steps), needed.covers)
        except BaseException as exc:
            await self._undo()
            if isinstance(exc, PermissionDenied):
                raise PermissionDenied(
                    f"cannot serve {self.spec.name}: {exc}",
                    subject=exc.subject,
                    operation=exc.operation,
                ) from None
            error = nats_error(exc) if isinstance(exc, nats.errors.Error) else exc
            if not isinstance(error, AutonatsError | OSError | asyncio.TimeoutError):
                raise
            # The same class, saying what failed: callers catch by class.
            error.args = (
                f"cannot serve {self.spec.name}: {steps[-1]} failed: {error}",
            )
            raise error from None
        self._running = True
        # A refusal after the start (a pull, an ack) would otherwise go unnoticed.
        self._unlisten = denials.listen(needed.covers, self._log_denied)
        if self._outlier is not None:
            self._ejector = Ejector(
                self.nc,
                self.spec,
                self.prefix,
                self.service.id,
                self._endpoints.values(),
                self._subscribe,
                self._outlier,
            )
            self._ejector.start()

    async def _subscribe_all(self, steps: list[str]) -> None:
        """The steps of :meth:`run`; the last entry of ``steps`` names the current one."""
        streams = Streams(self.nc, self.spec, self.prefix, self._stream_options)
        for ep in self._endpoints.values():
            subject = ep.spec.subject(self.prefix)
            steps.append(f"subscribing {subject}")
            if ep.spec.durable:
                steps.append(f"setting up the durable calls of {subject} (JetStream)")
                consumer = DurableConsumer(streams, ep, self._serve_stored, self._spawn)
                self._consumers[ep.spec.name] = consumer
                await consumer.start()
                continue

            served = self._streams.get(ep.spec.name)
            if served is not None:
                steps.append(f"subscribing the stream control subjects of {subject}")
                await served.start(subject, self.service.id)
                steps.append(f"subscribing {subject}")
            await self._subscribe(ep)
        self.started = time.time()
        steps.append("answering $SRV discovery")
        await self.service.start()
        # nats-py writes flush()'s PING straight to the socket while SUBs may
        # still wait in its pending buffer, so one PONG does not prove the
        # server has them. By the second round trip the buffer has been written
        # (and any refusal of them has arrived: the server answers in order).
        steps.append("confirming the subscriptions with the server")
        await self.nc.flush()
        await self.nc.flush()

    def _log_denied(self, denial: _denials.Denial) -> None:
        if denial in self._denied_logged:
            return
        self._denied_logged.add(denial)
        log.error(
            "%s: %s; calls that need it are not served until the user's "
            "permissions allow it",
            self.spec.name,
            denial.error(),
        )

    async def _subscribe(self, ep: Endpoint) -> None:
        """Subscribe a method's subject in the queue group (at start, and when
        it comes back from outlier ejection)."""

        async def on_message(msg: nats.aio.msg.Msg) -> None:
            self._accept(ep, msg)

        ep.sub = await self.nc.subscribe(
            ep.spec.subject(self.prefix), queue=wire.QUEUE_GROUP, cb=on_message
        )

    async def _undo(self) -> None:
        """Take back what a failed :meth:`run` set up (best effort)."""
        await self.service.stop()
        consumers, self._consumers = self._consumers, {}
        for consumer in consumers.values():
            await consumer.stop()
            await consumer.close()
        for ep in self._endpoints.values():
            if ep.sub is not None:
                try:
                    await ep.sub.unsubscribe()
                except nats.errors.Error as exc:
                    log.debug("unsubscribing %s failed: %s", ep.sub.subject, exc)
                ep.sub = None
        for streams in self._streams.values():
            await streams.stop()
        self.started = None

    async def shutdown(self) -> None:
        """Stop taking requests, finish and answer every accepted one, then unsubscribe.

        Subscriptions are drained: the server stops routing to this handler, and
        messages it already routed here are still served. Open streams are
        ended (their clients get a 503 ``ShuttingDown`` error after the items
        sent so far); streams not started yet are shed (503, retried elsewhere).
        """
        if not self._running:
            return
        self._running = False
        self._unlisten()
        if self._ejector is not None:
            await self._ejector.stop()  # no method steps out or back in from now
            self._ejector = None
        await self.service.stop()
        for streams in self._streams.values():
            streams.end_all()
        for consumer in self._consumers.values():
            await consumer.stop()
        # All at once: a drain waits for a round trip to the server, and a
        # server lost meanwhile would hold each one in turn for its timeout.
        connected = self.nc.is_connected
        await asyncio.gather(
            *(self._stop_listening(ep, connected) for ep in self._endpoints.values())
        )
        await self._idle.wait()
        for streams in self._streams.values():
            await streams.stop()
        consumers, self._consumers = self._consumers, {}
        for consumer in consumers.values():
            await consumer.close()

    async def _stop_listening(self, ep: Endpoint, connected: bool) -> None:
        """Drain a method's subscription: messages already routed here are
        still served. With no server to talk to (``connected`` false: the
        connection is reconnecting) there is nothing to drain, and a drain's
        round trip would only wait out its timeout: unsubscribe."""
        sub, ep.sub = ep.sub, None
        if sub is None:
            return
        try:
            if connected:
                await sub.drain()  # type: ignore[no-untyped-call]
            else:
                await sub.unsubscribe()
        except nats.errors.Error as exc:
            log.warning("draining %s failed: %s", ep.spec.subject(self.prefix), exc)

    async def __aenter__(self) -> Handler[P]:
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

    # -- core NATS transport: arrival ----------------------------------------

    def _accept(self, ep: Endpoint, msg: nats.aio.msg.Msg) -> None:
        """A message arrived on a method subject: serve it, queue it or refuse it.

        Every message goes through the queue, and the tasks holding slots take
        the oldest: calls start in arrival order even when a task that finished
        one picks the next before a newer task has run.
        """
        arrived = _now()
        stats = ep.stats
        if stats.in_flight < ep.limit:
            stats.in_flight += 1
            ep.claimed += 1
            ep.pending.append((msg, arrived))
            ep.pending_bytes += len(msg.data)
            self._spawn(self._drain(ep))
        elif ep.has_room(msg):
            ep.pending.append((msg, arrived))
            ep.pending_bytes += len(msg.data)
            stats.queued = len(ep.pending) - ep.claimed
        elif msg.reply:
            stats.refused("overloaded", oneway=False)
            self._spawn(self._send_error(msg, overloaded()))
        else:
            stats.refused("dropped: the oneway queue is full", oneway=True)
            self._log_dropped(ep)

    def _log_dropped(self, ep: Endpoint) -> None:
        ep.dropped_unlogged += 1
        now = time.monotonic()
        if now - ep.dropped_logged_at >= DROP_LOG_INTERVAL:
            log.warning(
                "%s.%s: %d oneway call(s) dropped: %d are already waiting for a "
                "slot (bound: %d messages, %d MiB)",
                ep.spec.service,
                ep.spec.name,
                ep.dropped_unlogged,
                len(ep.pending),
                endpoint.ONEWAY_QUEUE_MESSAGES,
                endpoint.ONEWAY_QUEUE_BYTES // (1 << 20),
            )
            ep.dropped_logged_at = now
            ep.dropped_unlogged = 0

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

    async def _drain(self, ep: Endpoint) -> None:
        """On a slot taken for it, serve the oldest queued message, then the next,
        until the queue is empty: a queue of N costs no extra tasks."""
        claimed = True
        task = asyncio.current_task()
        assert task is not None
        pending = ep.pending
        try:
            while pending:
                msg, arrived = pending.popleft()
                ep.pending_bytes -= len(msg.data)
                if claimed:
                    claimed = False
                    ep.claimed -= 1
                ep.stats.queued = max(len(pending) - ep.claimed, 0)
                await self._serve_one(task, ep, msg, arrived, ep.settle)
        finally:
            if claimed:  # cancelled before it took a message
                ep.claimed -= 1
            self._release(ep)

    async def _serve_stored(
        self, ep: Endpoint, msg: nats.aio.msg.Msg, settle: Settle
    ) -> None:
        """Serve a stored (JetStream) call on a slot its consumer took."""
        task = asyncio.current_task()
        assert task is not None
        try:
            await self._serve_one(task, ep, msg, _now(), settle)
        finally:
            self._release(ep)

    def _release(self, ep: Endpoint) -> None:
        """Give a slot back. Messages no task will take (this one left early,
        cancelled) get a new task; else whoever waits for a slot is told."""
        ep.stats.in_flight -= 1
        if len(ep.pending) > ep.claimed and ep.stats.in_flight < ep.limit:
            ep.stats.in_flight += 1
            ep.claimed += 1
            self._spawn(self._drain(ep))
        else:
            ep.slot_freed.set()

    # -- the one path --------------------------------------------------------

    async def _serve_one(
        self,
        task: asyncio.Task[Any],
        ep: Endpoint,
        msg: nats.aio.msg.Msg,
        arrived: float,
        settle: Settle | None,
    ) -> None:
        """Serve one message in ``task``, on a slot the caller holds, and settle it.

        ``settle`` None: the core NATS transport; the deadline is arrival +
        ``Autonats-Timeout`` (a caller waits), the outcome is replied on the
        reply subject, if any. Else the transport's own settle step; the
        deadline is arrival + the declared timeout (a stored call; a stream
        must start by then, and its invoke step sets the stream's own).

        The steps are inlined, not split into coroutines: each coroutine level
        costs about as much as a oneway call's whole useful work.
        """
        spec = ep.spec
        headers = msg.headers or {}
        tracing = self._tracing
        span: Any = None
        token: object = None
        if tracing is not None:
            span, token = tracing.start_server(spec, msg.subject, headers)
        try:
            failure: Reply | None = None
            body = b""
            started = time.perf_counter_ns()
            deadline = arrived + spec.timeout
            watched = False
            try:
                # 1. decode, 2. deadline
                if settle is None:
                    text = headers.get(wire.TIMEOUT_HEADER)
                    if text is not None:
                        deadline = arrived + _header_timeout(text)
                if _now() >= deadline:
                    raise Reply(
                        504,
                        "deadline exceeded before the call started",
                        "DeadlineExceeded",
                    )
                values = _decode_args(spec, msg.data)
                _current.set((spec.service, spec.name, deadline, headers))
                # 3. invoke, cancelled by the loop's sweeper at the deadline
                self._deadlines.watch(task, deadline, _expire, task)
                watched = True
                if ep.direct:
                    result = await ep.impl(*values)
                else:
                    result = await ep.invoke(msg, values)
                # 4. encode
                if not spec.oneway:
                    body = _encode_result(result)
                    if (
                        len(body) > _SMALLEST_MAX_PAYLOAD
                        and len(body) > self.nc.max_payload
                    ):
                        raise Reply(
                            500,
                            f"internal error: the result ({len(body)} bytes) exceeds "
                            f"the server's max_payload ({self.nc.max_payload} bytes)",
                            "InternalError",
                        )
            except Reply as reply:
                failure = reply
            except asyncio.CancelledError:
                if task not in _expired:
                    raise
                _expired.discard(task)
                uncancel = getattr(task, "uncancel", None)
                if uncancel is not None:  # Python 3.11+: this cancellation is handled
                    uncancel()
                failure = Reply(504, "deadline exceeded", "DeadlineExceeded")
            except ServiceError as exc:
                failure = service_reply(exc)
            except Exception as exc:
                if watched and _now() >= deadline:
                    # Out of time, e.g. a nested call that inherited this deadline
                    # timed out a tick before the sweeper got here: still a
                    # deadline, not a bug.
                    failure = Reply(504, "deadline exceeded", "DeadlineExceeded")
                else:  # the implementation's bug, or ours: answered, never lost
                    failure = Reply(500, "internal error", "InternalError", cause=exc)
            finally:
                if watched:
                    self._deadlines.forget(task)
                    # An implementation may swallow the cancellation: the mark must
                    # not outlive this call (the task serves the calls queued behind).
                    _expired.discard(task)
            # 5. count and log
            duration = time.perf_counter_ns() - started
            if failure is None:
                ep.stats.finished(duration, 0, "")
                if log.isEnabledFor(logging.DEBUG):
                    log.debug(
                        "%s.%s ok in %.2f ms", spec.service, spec.name, duration / 1e6
                    )
            else:
                ep.stats.finished(duration, failure.code, failure.message)
                if failure.internal:
                    ep.stats.internal_errors += 1
                _log_failure(spec, failure, duration)
            # 6. settle
            if settle is not None:
                await settle(ep, msg, failure, body)
            elif msg.reply:
                if failure is None:
                    await self._send(msg.reply, body, None)
                else:
                    await self._send_error(msg, failure)
            if tracing is not None:
                if failure is None:
                    tracing.finish(span, 0)
                else:
                    tracing.finish(span, failure.code, failure.cause)
        finally:
            if tracing is not None:
                tracing.end(span, token)

    # -- core NATS transport: settle -----------------------------------------

    async def _send_error(self, msg: nats.aio.msg.Msg, reply: Reply) -> None:
        await self._send(msg.reply, reply.body(), reply.headers())

    async def _send(
        self, subject: str, data: bytes, headers: dict[str, str] | None
    ) -> None:
        try:
            await self.nc.publish(subject, data, headers=headers)
        except nats.errors.Error as exc:
            log.warning("%s: reply not sent: %s", self.spec.name, exc)


def _nothing() -> None:
    return None


#: The clock of deadlines, here and in the client: what asyncio's loop.time()
#: reads, and the clock (CLOCK_MONOTONIC) uvloop's is built on.
_now = time.monotonic

#: Tasks whose call outlived its deadline and were cancelled for it.
_expired: set[asyncio.Task[Any]] = set()


def _expire(task: asyncio.Task[Any]) -> None:
    _expired.add(task)
    task.cancel()


#: No server accepts less than this (nats-server's minimum max_payload is far
#: above it): smaller replies skip the max_payload lookup.
_SMALLEST_MAX_PAYLOAD = 64 * 1024


def _header_timeout(text: str) -> float:
    try:
        return wire.parse_timeout(text)
    except ValueError as exc:
        raise Reply(400, str(exc), "BadRequest") from None


def _decode_args(spec: MethodSpec, data: bytes) -> tuple[Any, ...]:
    if not spec.params:
        if data and data.strip() not in (b"{}", b"null"):
            # Still reject bodies that are not a JSON object (or null), but cheaply.
            _decode_struct(spec, data)
        return ()
    args = _decode_struct(spec, data or b"{}")
    return msgspec.structs.astuple(args)


def _decode_struct(spec: MethodSpec, data: bytes) -> Any:
    try:
        return spec.args_decoder(data)
    except msgspec.ValidationError as exc:
        raise Reply(400, codec.describe_validation_error(exc), "BadRequest") from None
    except msgspec.DecodeError as exc:
        raise Reply(
            400, f"the request body is not valid JSON: {exc}", "BadRequest"
        ) from None
    except RecursionError:
        raise Reply(
            400, "the request body is nested too deeply to decode", "BadRequest"
        ) from None
    except UnicodeDecodeError:
        raise Reply(
            400,
            "the request body is not valid JSON: invalid UTF-8 in a string",
            "BadRequest",
        ) from None


def _log_failure(spec: MethodSpec, reply: Reply, duration_ns: int) -> None:
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


def _encode_result(result: Any) -> bytes:
    try:
        return codec.encode(result)
    except EncodeError as exc:
        raise Reply(500, "internal error", "InternalError", cause=exc) from None
