"""The client runtime: every generated client method is one call into :class:`Client`.

Every kind of call goes through one pipeline, :meth:`Client._invoke`:

1. resolve the deadline: the method's declared timeout, or the client's
   ``timeout=``, never past the deadline of the call being served;
2. build the headers: the trace context (when traced); the remaining time
   (``Autonats-Timeout``) is added by the transport when it sends;
3. encode the arguments; ask the method's circuit breaker, if it has one and
   it is not closed (:mod:`autonats.runtime.breaker`): an open one refuses
   the call with :class:`~autonats.CircuitOpenError`, sending nothing;
4. send and wait by the transport of the call's kind (:data:`Transport`):
   request/reply, oneway publish, durable (JetStream) publish;
5. decode the reply, or raise the mapped error;
6. count the outcome and latency (and tell the breaker), end the span.

A new kind of call is a new transport; it inherits everything else. A
server stream is one: its transport (runtime/stream.py) opens the stream and
returns when the stream ends, so the pipeline records a stream as one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.errors
import nats.js
from autonats import _denials
from autonats._translate import nats_error
from autonats.contract import codec, wire
from autonats.contract.declare import Breaker, breaker_of
from autonats.contract.spec import MethodSpec, ServiceSpec, error_fields
from autonats.errors import (
    REMOTE_ERRORS,
    AutonatsError,
    CircuitOpenError,
    EncodeError,
    NoRespondersError,
    OverloadedError,
    ProtocolError,
    RemoteError,
    ServiceError,
    TimeoutError,
)
from autonats.observe import tracing as tracing_
from autonats.observe.stats import BreakerStats, ClientStats, live_clients
from autonats.observe.tracing import Tracing
from autonats.runtime import durable, permissions, retry
from autonats.runtime.breaker import CircuitBreaker
from autonats.runtime.context import _current
from autonats.runtime.inbox import Inbox, inbox_for
from autonats.runtime.stream import (
    DEFAULT_WINDOW,
    DEFAULT_WINDOW_BYTES,
    Receiver,
    Run,
    Stream,
    check_window,
)

__all__ = [
    "BreakerSetting",
    "Call",
    "Client",
    "Publish",
    "ServiceClient",
    "StreamCall",
    "Transport",
]

R = TypeVar("R")

#: The clock of deadlines (see runtime/handler.py).
_now = time.monotonic

# Backoff for requests a handler shed with 503 (never started, so safe to retry).

#: Step 4 of the pipeline for one kind of call: ``(client, spec, subject,
#: payload, headers, deadline, explicit)`` -> the decoded result. ``headers``
#: holds the trace context (or is None); ``explicit`` says the deadline differs
#: from the method's declared timeout, so the handler must be told it.
Transport = Callable[
    ["Client", MethodSpec, str, bytes, "dict[str, str] | None", float, bool],
    Awaitable[Any],
]


#: A client's ``breaker=``: None keeps each method's declared breaker; True
#: (:class:`~autonats.Breaker`'s defaults), False (none) or a Breaker applies
#: to every method; a mapping sets it for the methods it names.
BreakerSetting = bool | Breaker | Mapping[str, bool | Breaker] | None


class Client:
    """Calls the methods of one service over a connected ``nats.aio.client.Client``.

    ``timeout`` (seconds) overrides every method's own; a call made while serving
    another call never waits past that call's deadline. ``prefix`` is the first
    part of every subject (docs/protocol.md, section 1). ``breaker``
    (:data:`BreakerSetting`) overrides the methods' declared circuit breakers;
    each client keeps its own. ``stream_window`` and ``stream_window_bytes``
    bound how far a stream's handler may run ahead of its consumer, in items
    and in bytes: what the stream may buffer.
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        spec: ServiceSpec,
        *,
        timeout: float | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
        tracing: Tracing | None = None,
        breaker: BreakerSetting = None,
        stream_window: int = DEFAULT_WINDOW,
        stream_window_bytes: int = DEFAULT_WINDOW_BYTES,
    ) -> None:
        if timeout is not None:
            timeout = wire.check_timeout(timeout)
        wire.check_prefix(prefix)
        breakers = _breakers(spec, breaker)
        self.nc = nc
        self.spec = spec
        self.timeout = timeout
        self.prefix = prefix
        self.stream_window = check_window(stream_window)
        self.stream_window_bytes = check_window(
            stream_window_bytes, "stream_window_bytes"
        )
        self._tracing = tracing
        self._subjects = {name: m.subject(prefix) for name, m in spec.methods.items()}
        self._stats = {name: ClientStats() for name in spec.methods}
        #: Per method: its circuit breaker, or None (then the pipeline skips it).
        self._breakers: dict[str, CircuitBreaker | None] = {}
        for name, config in breakers.items():
            if config is None:
                self._breakers[name] = None
                continue
            stats = self._stats[name].breaker = BreakerStats()
            self._breakers[name] = CircuitBreaker(config, f"{spec.name}.{name}", stats)
        self._inbox: Inbox | None = None
        self._denials: _denials.Denials | None = None
        self._js: nats.js.JetStreamContext | None = None
        self._durable_checked: set[str] = set()
        live_clients.add(self)

    def stats(self) -> dict[str, ClientStats]:
        """Live counters per method name."""
        return self._stats

    def breaker(self, method: str) -> CircuitBreaker | None:
        """The circuit breaker of ``method``, or None when it has none."""
        return self._breakers[method]

    async def call(self, method: str, args: Sequence[Any]) -> Any:
        """Call ``method`` with ``args`` (in parameter order); return its decoded result."""
        spec = self.spec.methods[method]
        if spec.stream:
            raise TypeError(f"{spec.service}.{method} is a stream: use stream()")
        return await self._invoke(
            spec, self._stats[method], args, _transport(spec), self._breakers[method]
        )

    def stream(self, method: str, args: Sequence[Any]) -> Stream[Any]:
        """Open stream ``method`` with ``args`` (in parameter order), on first use."""
        return StreamCall[Any](self, method)(*args)

    async def publish(self, method: str, args: Sequence[Any]) -> None:
        """Send a oneway call: without a reply subject; returns once it is written
        (a durable one: once the stream has stored it)."""
        await self.call(method, args)

    # -- the pipeline ------------------------------------------------------

    async def _invoke(
        self,
        spec: MethodSpec,
        stats: ClientStats,
        args: Sequence[Any],
        transport: Transport,
        breaker: CircuitBreaker | None,
    ) -> Any:
        """Make one call of any kind, counted and, when tracing, in a client span.

        Tracing is inlined rather than wrapped around the call: one coroutine
        less per call, and nothing at all when it is off.
        """
        stats.in_flight += 1
        started = time.perf_counter_ns()
        outcome = "cancelled"
        tracing = self._tracing
        subject = self._subjects[spec.name]
        span: Any = None
        headers: dict[str, str] | None = None
        ticket = -1  # the breaker's ticket once it let the call through
        try:
            if tracing is not None:
                headers = {}
                span = tracing.start_client(spec, subject, headers)
            # The handler falls back to the method's declared timeout: only a
            # different deadline needs the header (and its encoding and parsing).
            timeout = self.timeout
            explicit = timeout is not None and timeout != spec.timeout
            now = _now()
            deadline = now + (timeout or spec.timeout)
            outer = _current.get()
            if outer is not None and outer[2] < deadline:
                if outer[2] <= now:
                    raise TimeoutError(
                        f"{subject}: the deadline of the call being served has passed"
                    )
                deadline = outer[2]
                explicit = True
            payload = _encode(spec, args)
            if breaker is not None:
                ticket = breaker.admit() if breaker.state else 0
            result = await transport(
                self, spec, subject, payload, headers, deadline, explicit
            )
            outcome = "ok"
            if breaker is not None:
                breaker.succeeded(ticket, now)
            if tracing is not None:
                tracing.finish(span, 0)
            return result
        except BaseException as exc:
            # nats-py's errors become autonats errors here, for every transport.
            error = nats_error(exc) if isinstance(exc, nats.errors.Error) else exc
            if isinstance(error, AutonatsError):
                outcome = _outcome(error)
            elif not isinstance(error, asyncio.CancelledError):
                outcome = "error"
            if ticket >= 0 and breaker is not None:
                breaker.failed(ticket, error)
            if tracing is not None:
                tracing.fail(span, error)
            if error is not exc:
                raise error from None
            raise
        finally:
            stats.in_flight -= 1
            stats.finished(time.perf_counter_ns() - started, outcome)
            if span is not None:
                span.end()

    # -- transports (step 4) -------------------------------------------------

    async def _request(
        self,
        spec: MethodSpec,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        deadline: float,
        explicit: bool,
    ) -> Any:
        """Request/reply through the connection's inbox; retries a 503 with backoff.

        A refused publish fails the call at once (:mod:`autonats._denials`).
        """
        inbox = self._inbox or await self._start()
        denials = self._denials
        assert denials is not None
        loop = asyncio.get_running_loop()
        delay = retry.FIRST
        while True:
            now = _now()
            if now >= deadline:
                raise TimeoutError(f"{subject}: deadline exceeded before sending")
            sent = _with_timeout(headers, deadline - now) if explicit else headers
            token, reply_to, future = inbox.expect(loop, deadline)
            denials.watch(subject, future)
            try:
                await self.nc.publish(subject, payload, reply=reply_to, headers=sent)
                msg = await future
            except TimeoutError:
                raise TimeoutError(f"{subject}: no reply within the deadline") from None
            finally:
                inbox.done(token, future)
                denials.unwatch(subject, future)
            reply_headers = msg.headers
            if not reply_headers:
                return _decode(spec, msg.data)
            if reply_headers.get(wire.STATUS_HEADER) == "503" and not msg.data:
                raise NoRespondersError(_nobody(self.spec, subject))
            error = self._error(reply_headers, msg.data)
            if error is None:
                return _decode(spec, msg.data)
            if not isinstance(error, OverloadedError):
                raise error
            # Shed requests were never started: retry with backoff within the deadline.
            delay = await retry.after_shed(error, delay, deadline)
            explicit = True

    def _publish(
        self,
        spec: MethodSpec,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        deadline: float,
        explicit: bool,
    ) -> Awaitable[None]:
        """A oneway call: published without a reply subject; awaits only the write.

        Not a coroutine of its own: nats-py's publish is awaited directly.
        """
        if explicit:
            headers = _with_timeout(headers, deadline - _now())
        return self.nc.publish(subject, payload, headers=headers)

    async def _publish_durable(
        self,
        spec: MethodSpec,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        deadline: float,
        explicit: bool,
    ) -> None:
        """A durable oneway call: a JetStream publish, returning once the stream stored it."""
        js = self._js
        if js is None:
            js = self._js = self.nc.jetstream()
        # JetStream answers through nats-py's own inbox: a refusal of the stream
        # lookup or the publish ends the call through a race instead.
        await _denials.guard(self.nc).race(
            self._store(js, spec, subject, payload, headers, deadline),
            self._denied_durable(spec),
        )

    async def _store(
        self,
        js: nats.js.JetStreamContext,
        spec: MethodSpec,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        deadline: float,
    ) -> None:
        if spec.name not in self._durable_checked:
            await durable.check_stream(
                self.nc, self.spec, self.prefix, spec, deadline - _now()
            )
            self._durable_checked.add(spec.name)
        await durable.publish(js, subject, payload, headers, deadline - _now())

    def _denied_durable(self, spec: MethodSpec) -> Callable[[_denials.Denial], bool]:
        needed = permissions.method_permissions(
            "client",
            self.spec,
            spec,
            prefix=self.prefix,
            inbox_prefix=permissions.inbox_prefix_of(self.nc),
        )
        return needed.covers

    async def _start(self) -> Inbox:
        self._denials = _denials.guard(self.nc)
        self._inbox = await inbox_for(self.nc)
        return self._inbox

    def _error(self, headers: dict[str, str], data: bytes) -> Exception | None:
        """The error an error reply stands for, or None for a successful reply."""
        code_text = headers.get(wire.ERROR_CODE_HEADER)
        if code_text is None:
            return None
        try:
            code = int(code_text)
        except ValueError:
            code = 500
        try:
            body = wire.error_body_decoder.decode(data)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
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


def _transport(spec: MethodSpec) -> Transport:
    """The transport of a method's kind of call."""
    if spec.durable:
        return Client._publish_durable
    if spec.oneway:
        return Client._publish
    return Client._request


class Call(Generic[R]):
    """One request/reply method of a :class:`Client`, typed by its result.

    Generated clients hold one per method: ``await call(*args)``.
    """

    __slots__ = ("_breaker", "_client", "_spec", "_stats", "_transport")

    def __init__(self, client: Client, method: str) -> None:
        self._client = client
        self._spec = client.spec.methods[method]
        self._stats = client.stats()[method]
        self._transport = _transport(self._spec)
        self._breaker = client.breaker(method)

    def __call__(self, *args: Any) -> Coroutine[Any, Any, R]:
        # Not ``async def``: the pipeline's coroutine is the call's, one level less.
        return self._client._invoke(
            self._spec, self._stats, args, self._transport, self._breaker
        )


class Publish(Call[None]):
    """One oneway method of a :class:`Client`: ``await publish(*args)``."""

    __slots__ = ()


class StreamCall(Generic[R]):
    """One stream method of a :class:`Client`, typed by its items.

    Generated clients hold one per stream method: ``call(*args)`` returns a
    :class:`~autonats.runtime.stream.Stream` whose task runs the pipeline.
    """

    __slots__ = ("_breaker", "_client", "_decode", "_label", "_spec", "_stats")

    def __init__(self, client: Client, method: str) -> None:
        self._client = client
        self._spec = client.spec.methods[method]
        self._stats = client.stats()[method]
        self._breaker = client.breaker(method)
        self._decode = functools.partial(_decode, self._spec)
        self._label = f"{self._spec.service}.{method}"
        if not self._spec.stream:
            raise TypeError(f"{self._label} is not a stream")

    def __call__(self, *args: Any) -> Stream[R]:
        client, spec, stats, breaker = (
            self._client,
            self._spec,
            self._stats,
            self._breaker,
        )

        def launch(run: Run) -> Coroutine[Any, Any, Any]:
            return client._invoke(spec, stats, args, run, breaker)

        receiver: Receiver[R] = Receiver(
            client.nc,
            client._start,
            launch,
            self._decode,
            client._error,
            label=self._label,
            timeout=client.timeout or spec.timeout,
            window=client.stream_window,
            window_bytes=client.stream_window_bytes,
        )
        return Stream(receiver)


class ServiceClient:
    """Base of the generated ``<Name>Client`` classes.

    A generated client sets ``_spec`` (and ``_traced`` when generated with
    ``--tracing``) and declares one ``_call_<method>`` attribute per method;
    this sets them up. Everything here starts with ``_``: a service's methods
    never do, so they cannot clash.

    ``timeout``, ``prefix`` and ``breaker`` are :class:`Client`'s.
    """

    _spec: ClassVar[ServiceSpec]
    _traced: ClassVar[bool] = False

    def __init__(
        self,
        nc: nats.aio.client.Client,
        *,
        timeout: float | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
        breaker: BreakerSetting = None,
        stream_window: int = DEFAULT_WINDOW,
        stream_window_bytes: int = DEFAULT_WINDOW_BYTES,
    ) -> None:
        spec = self._spec
        self._client = Client(
            nc,
            spec,
            timeout=timeout,
            prefix=prefix,
            tracing=tracing_.enabled() if self._traced else None,
            breaker=breaker,
            stream_window=stream_window,
            stream_window_bytes=stream_window_bytes,
        )
        for name, method in spec.methods.items():
            kind: type[Any] = (
                StreamCall if method.stream else Publish if method.oneway else Call
            )
            setattr(self, f"_call_{name}", kind(self._client, name))


def _with_timeout(headers: dict[str, str] | None, remaining: float) -> dict[str, str]:
    """``headers`` plus ``Autonats-Timeout`` for ``remaining`` seconds."""
    value = wire.timeout_header(remaining)
    if headers:
        return {**headers, wire.TIMEOUT_HEADER: value}
    return {wire.TIMEOUT_HEADER: value}


def _encode(spec: MethodSpec, args: Sequence[Any]) -> bytes:
    try:
        if spec.positional_struct:
            return codec.encode(spec.args_type(*args))
        return codec.encode(
            spec.args_type(**dict(zip(spec.param_names, args, strict=True)))
        )
    except (TypeError, ValueError) as exc:  # wrong or missing arguments
        raise EncodeError(f"{spec.service}.{spec.name}: {exc}") from None


def _decode(spec: MethodSpec, data: bytes) -> Any:
    try:
        return spec.reply_decoder(data)
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


def _nobody(spec: ServiceSpec, subject: str) -> str:
    """Why a call got no responders, naming the major version it asked for."""
    if spec.major < 1:
        return f"no handler serves {subject}"
    return (
        f"no handler serves {subject}: no instance of {spec.name} "
        f"v{spec.major} (version {spec.major}.x) is running"
    )


def _breakers(spec: ServiceSpec, setting: BreakerSetting) -> dict[str, Breaker | None]:
    """The breaker of each method: as declared, unless the client's ``breaker=``
    says otherwise. A plain oneway call never learns how it went, so it has none."""
    if setting is None or isinstance(setting, bool | Breaker):
        wanted = {
            name: m.breaker if setting is None else breaker_of(setting)
            for name, m in spec.methods.items()
        }
    elif isinstance(setting, Mapping):
        unknown = sorted(set(setting) - set(spec.methods))
        if unknown:
            raise ValueError(
                f"breaker= names methods that service {spec.name!r} does not have: "
                f"{', '.join(unknown)} (it has: {', '.join(spec.methods)})"
            )
        wanted = {}
        for name, m in spec.methods.items():
            if name not in setting:
                wanted[name] = m.breaker
                continue
            value = setting[name]
            if not isinstance(value, bool | Breaker):
                raise TypeError(
                    f"breaker[{name!r}] must be True, False or an autonats.Breaker, "
                    f"not {value!r}"
                )
            if value is not False and m.oneway and not m.durable:
                raise ValueError(
                    f"{spec.name}.{name} is a oneway method: its caller never learns "
                    "how a call went, so a circuit breaker has nothing to count"
                )
            wanted[name] = breaker_of(value)
    else:
        raise TypeError(
            "breaker must be True, False, an autonats.Breaker or a mapping of "
            f"method names to those, not {setting!r}"
        )
    return {
        name: None if m.oneway and not m.durable else wanted[name]
        for name, m in spec.methods.items()
    }


def _outcome(exc: AutonatsError) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, NoRespondersError):
        return "no_responders"
    if isinstance(exc, CircuitOpenError):
        return "circuit_open"
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
