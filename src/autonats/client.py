"""The client runtime: every generated client method is one call into :class:`Client`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.errors
import nats.js
from autonats import codec, durable, wire
from autonats._translate import nats_error
from autonats.context import _current
from autonats.errors import (
    REMOTE_ERRORS,
    AutonatsError,
    EncodeError,
    NoRespondersError,
    OverloadedError,
    ProtocolError,
    RemoteError,
    ServiceError,
    TimeoutError,
)
from autonats.spec import MethodSpec, ServiceSpec, error_fields
from autonats.stats import ClientStats
from autonats.tracing import Tracing

__all__ = ["Call", "Client", "Publish"]

R = TypeVar("R")

# Backoff for requests a handler shed with 503 (never started, so safe to retry).
_RETRY_FIRST = 0.005
_RETRY_MAX = 0.25


#: Deadlines are checked this often (seconds): one timer per connection
#: instead of one per call, at the price of expiring up to this much late.
DEADLINE_TICK = 0.01


class _Inbox:
    """One wildcard subscription per connection that routes every reply to its waiting call.

    Cheaper than ``nc.request()``, which pays for a NUID, random bytes, a done
    callback and ``asyncio.wait_for`` on every call. Deadlines of the waiting
    calls are swept by one periodic timer rather than a timer per call.
    """

    def __init__(self, nc: nats.aio.client.Client) -> None:
        # No reference to the connection: the registry below holds inboxes
        # strongly and must not keep their connections alive.
        self.prefix = nc.new_inbox() + "."
        self.waiting: dict[str, tuple[asyncio.Future[nats.aio.msg.Msg], float]] = {}
        self._tokens = itertools.count(1)
        self._subscribed = False
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, nc: nats.aio.client.Client) -> None:
        if not self._subscribed:
            await nc.subscribe(self.prefix + "*", cb=self._on_reply)
            self._subscribed = True

    def expect(
        self, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> tuple[str, str, asyncio.Future[nats.aio.msg.Msg]]:
        """A reply subject and the future its reply (or the deadline) resolves."""
        token = format(next(self._tokens), "x")
        future: asyncio.Future[nats.aio.msg.Msg] = loop.create_future()
        self.waiting[token] = (future, deadline)
        if self._sweeper is None:
            self._sweeper = loop.call_later(DEADLINE_TICK, self._sweep, loop)
        return token, self.prefix + token, future

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        now = loop.time()
        expired = [t for t, (_, deadline) in self.waiting.items() if deadline <= now]
        for token in expired:
            future, _ = self.waiting.pop(token)
            if not future.done():
                future.set_exception(TimeoutError("no reply within the deadline"))
        if self.waiting:
            self._sweeper = loop.call_later(DEADLINE_TICK, self._sweep, loop)

    async def _on_reply(self, msg: nats.aio.msg.Msg) -> None:
        waiting = self.waiting.pop(msg.subject[len(self.prefix) :], None)
        if waiting is not None and not waiting[0].done():
            waiting[0].set_result(msg)


_inboxes: weakref.WeakKeyDictionary[nats.aio.client.Client, _Inbox] = (
    weakref.WeakKeyDictionary()
)


async def _inbox_for(nc: nats.aio.client.Client) -> _Inbox:
    inbox = _inboxes.get(nc)
    if inbox is None:
        inbox = _inboxes[nc] = _Inbox(nc)
    await inbox.start(nc)
    return inbox


#: How :meth:`Client._invoke` sends: the arguments, and the trace context headers.
_Send = Callable[[MethodSpec, Sequence[Any], "dict[str, str] | None"], Awaitable[Any]]


#: Every live client, for the metrics collector.
clients: weakref.WeakSet[Client] = weakref.WeakSet()


class Client:
    """Calls the methods of one service over a connected ``nats.aio.client.Client``.

    ``timeout`` (seconds) overrides every method's own; a call made while serving
    another call never waits past that call's deadline.
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        spec: ServiceSpec,
        *,
        timeout: float | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
        tracing: Tracing | None = None,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        self.nc = nc
        self.spec = spec
        self.timeout = timeout
        self.prefix = prefix
        self._tracing = tracing
        self._subjects = {name: m.subject(prefix) for name, m in spec.methods.items()}
        self._stats = {name: ClientStats() for name in spec.methods}
        self._inbox: _Inbox | None = None
        self._js: nats.js.JetStreamContext | None = None
        self._streams_checked = False
        clients.add(self)

    def stats(self) -> dict[str, ClientStats]:
        """Live counters per method name."""
        return self._stats

    async def call(self, method: str, args: Sequence[Any]) -> Any:
        """Call ``method`` with ``args`` (in parameter order); return its decoded result."""
        spec = self.spec.methods[method]
        return await self._invoke(spec, self._stats[method], args, self._call)

    async def publish(self, method: str, args: Sequence[Any]) -> None:
        """Send a oneway call: published without a reply subject; awaits only the write."""
        spec = self.spec.methods[method]
        await self._invoke(spec, self._stats[method], args, self._publish)

    async def _invoke(
        self,
        spec: MethodSpec,
        stats: ClientStats,
        args: Sequence[Any],
        send: _Send,
    ) -> Any:
        """Make one call with ``send`` (:meth:`_call` or :meth:`_publish`), counted
        and, when tracing, in a client span.

        Tracing is inlined rather than wrapped around the call: one coroutine
        less per call, and nothing at all when it is off.
        """
        stats.in_flight += 1
        started = time.perf_counter_ns()
        outcome = "cancelled"
        tracing = self._tracing
        span: Any = None
        carrier: dict[str, str] | None = None
        if tracing is not None:
            carrier = {}
            span = tracing.start_client(spec, self._subjects[spec.name], carrier)
        try:
            result = await send(spec, args, carrier)
            outcome = "ok"
            if tracing is not None:
                tracing.finish(span, 0)
            return result
        except BaseException as exc:
            if isinstance(exc, AutonatsError):
                outcome = _outcome(exc)
            elif not isinstance(exc, asyncio.CancelledError):
                outcome = "error"
            if tracing is not None:
                tracing.fail(span, exc)
            raise
        finally:
            stats.in_flight -= 1
            stats.finished(time.perf_counter_ns() - started, outcome)
            if span is not None:
                span.end()

    async def _call(
        self, spec: MethodSpec, args: Sequence[Any], extra: dict[str, str] | None
    ) -> Any:
        payload = self._encode(spec, args)
        loop = asyncio.get_running_loop()
        now = loop.time()
        # The handler falls back to the method's declared timeout: only a
        # different deadline needs the header (and its encoding and parsing).
        send_timeout = self.timeout is not None and self.timeout != spec.timeout
        deadline = now + (self.timeout or spec.timeout)
        outer = _current.get()
        if outer is not None and outer.deadline < deadline:
            deadline = outer.deadline
            send_timeout = True
        inbox = self._inbox or await self._start()
        subject = self._subjects[spec.name]
        delay = _RETRY_FIRST
        while True:
            remaining = deadline - now
            if remaining <= 0:
                raise TimeoutError(f"{subject}: deadline exceeded before sending")
            headers = extra or None  # the trace context, when traced
            if send_timeout:
                headers = {
                    **(extra or {}),
                    wire.TIMEOUT_HEADER: str(int(remaining * 1000)),
                }
            token, reply_to, future = inbox.expect(loop, deadline)
            try:
                await self.nc.publish(subject, payload, reply=reply_to, headers=headers)
                msg = await future
            except nats.errors.Error as exc:
                raise nats_error(exc) from None
            except TimeoutError:
                raise TimeoutError(f"{subject}: no reply within the deadline") from None
            finally:
                inbox.waiting.pop(token, None)
            reply_headers = msg.headers
            if not reply_headers:
                return self._decode(spec, msg.data)
            if reply_headers.get(wire.STATUS_HEADER) == "503" and not msg.data:
                raise NoRespondersError(f"no handler serves {subject}")
            error = self._error(reply_headers, msg.data)
            if error is None:
                return self._decode(spec, msg.data)
            if not isinstance(error, OverloadedError):
                raise error
            # Shed requests were never started: retry with backoff within the deadline.
            now = loop.time()
            pause = min(delay * (0.5 + random.random()), deadline - now)
            if pause <= 0:
                raise error
            await asyncio.sleep(pause)
            now = loop.time()
            if now >= deadline:
                raise error
            send_timeout = True
            delay = min(delay * 2, _RETRY_MAX)

    async def _publish(
        self, spec: MethodSpec, args: Sequence[Any], extra: dict[str, str] | None
    ) -> None:
        payload = self._encode(spec, args)
        timeout = self.timeout or spec.timeout
        send_timeout = self.timeout is not None and self.timeout != spec.timeout
        outer = _current.get()
        if outer is not None:
            remaining = outer.deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"{self._subjects[spec.name]}: deadline exceeded")
            if remaining < timeout:
                timeout, send_timeout = remaining, True
        headers = dict(extra) if extra else None
        if send_timeout:  # as for calls: only when it differs from the declared one
            headers = headers or {}
            headers[wire.TIMEOUT_HEADER] = str(int(timeout * 1000))
        if spec.durable:
            await self._publish_durable(spec, payload, headers or {}, timeout)
            return
        try:
            await self.nc.publish(self._subjects[spec.name], payload, headers=headers)
        except nats.errors.Error as exc:
            raise nats_error(exc) from None

    async def _publish_durable(
        self, spec: MethodSpec, payload: bytes, headers: dict[str, str], timeout: float
    ) -> None:
        """Publish to JetStream and wait until the stream has stored the call."""
        headers[durable.MSG_ID_HEADER] = uuid.uuid4().hex
        js = self._js or self.nc.jetstream()
        self._js = js
        if not self._streams_checked:
            try:
                await durable.ensure_streams(js, self.spec, self.prefix)
            except nats.errors.Error as exc:
                raise nats_error(exc) from None
            self._streams_checked = True
        try:
            await js.publish(
                self._subjects[spec.name], payload, timeout=timeout, headers=headers
            )
        except nats.errors.Error as exc:
            raise nats_error(exc) from None

    async def _start(self) -> _Inbox:
        try:
            self._inbox = await _inbox_for(self.nc)
        except nats.errors.Error as exc:
            raise nats_error(exc) from None
        return self._inbox

    @staticmethod
    def _encode(spec: MethodSpec, args: Sequence[Any]) -> bytes:
        try:
            if spec.positional_struct:
                return codec.encode(spec.args_type(*args))
            return codec.encode(
                spec.args_type(**dict(zip(spec.param_names, args, strict=True)))
            )
        except (TypeError, ValueError) as exc:  # wrong or missing arguments
            raise EncodeError(f"{spec.service}.{spec.name}: {exc}") from None

    @staticmethod
    def _decode(spec: MethodSpec, data: bytes) -> Any:
        try:
            return spec.reply_decoder.decode(data)
        except msgspec.ValidationError as exc:
            why = codec.describe_validation_error(exc, what="result")
            raise ProtocolError(
                f"{spec.service}.{spec.name}: the reply does not match the declared "
                f"return type: {why}"
            ) from None
        except msgspec.DecodeError as exc:
            raise ProtocolError(
                f"{spec.service}.{spec.name}: the reply is not valid JSON: {exc}"
            ) from None
        except (RecursionError, UnicodeDecodeError) as exc:
            raise ProtocolError(
                f"{spec.service}.{spec.name}: the reply cannot be decoded: "
                f"{type(exc).__name__}"
            ) from None

    def _error(self, headers: dict[str, str], data: bytes) -> Exception | None:
        code_text = headers.get(wire.ERROR_CODE_HEADER)
        if code_text is None:
            return None
        try:
            code = int(code_text)
        except ValueError:
            code = 500
        try:
            body = wire.error_body_decoder.decode(data)
        except msgspec.DecodeError:
            body = wire.ErrorBody(
                type="", code=code, message=headers.get(wire.ERROR_HEADER, "")
            )
        declared = self.spec.errors.get(body.type)
        if declared is not None:
            return _service_error(declared, body)
        # Only the handler's own 503/504 mean "not started" / "deadline": an
        # undeclared error that merely uses those codes must not be retried.
        if code == 504 and body.type in ("DeadlineExceeded", ""):
            return TimeoutError(body.message or "deadline exceeded")
        cls = REMOTE_ERRORS.get(code, RemoteError)
        if cls is OverloadedError and body.type not in ("Overloaded", ""):
            cls = RemoteError
        return cls(code, body.message, type=body.type)


class Call(Generic[R]):
    """One request/reply method of a :class:`Client`, typed by its result.

    Generated clients hold one per method: ``await call(*args)``.
    """

    __slots__ = ("_client", "_spec", "_stats")

    def __init__(self, client: Client, method: str) -> None:
        self._client = client
        self._spec = client.spec.methods[method]
        self._stats = client.stats()[method]

    async def __call__(self, *args: Any) -> R:
        client = self._client
        result: R = await client._invoke(self._spec, self._stats, args, client._call)
        return result


class Publish:
    """One oneway method of a :class:`Client`: ``await publish(*args)``."""

    __slots__ = ("_client", "_spec", "_stats")

    def __init__(self, client: Client, method: str) -> None:
        self._client = client
        self._spec = client.spec.methods[method]
        self._stats = client.stats()[method]

    async def __call__(self, *args: Any) -> None:
        client = self._client
        await client._invoke(self._spec, self._stats, args, client._publish)


def _outcome(exc: AutonatsError) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, NoRespondersError):
        return "no_responders"
    if isinstance(exc, RemoteError | ServiceError):
        return str(exc.code)
    return "error"


def _service_error(cls: type[ServiceError], body: wire.ErrorBody) -> ServiceError:
    types = error_fields(cls)
    fields = {}
    for name, value in body.fields.items():
        if name in types:
            # On a mismatch keep the raw JSON value rather than lose the error.
            with contextlib.suppress(msgspec.ValidationError):
                value = codec.convert(value, types[name])
        fields[name] = value
    return cls(body.message, **fields)
