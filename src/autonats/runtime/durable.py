"""The JetStream transport of durable oneway calls (``@autonats.oneway(durable=True)``).

Delivery is at least once. The client's publish returns once the stream has
stored the call. Every handler instance of the service pulls from one
durable consumer per method, serves each call by the handler's one path, and
settles it: ack after success; after a failure, nak with exponential backoff;
after :data:`MAX_DELIVER` deliveries (or at once, for a call that cannot even
be decoded) the call is moved to the service's dead-letter stream with its
error, then acknowledged. A dead-letter publish that fails leaves the call in
the work queue, delivered again after the backoff: nothing is acknowledged
before it is stored somewhere.

Layout, for prefix ``autonats`` and service ``user`` (see docs/protocol.md,
section 10):

- stream ``autonats_user``: subjects of the durable methods
  (``autonats.user.touch``), work-queue retention, 2 minute de-duplication
  window on ``Nats-Msg-Id``. Only handlers widen it (a newer handler adds its
  methods); nothing narrows it;
- consumer ``user_touch`` per durable method (explicit ack), with no replica
  count of its own: JetStream gives it the stream's, and follows the stream
  when its replicas change;
- dead-letter stream ``autonats_user_dead``: subject
  ``autonats.dead.user.touch``, bounded in age and size (oldest dropped
  first), the original body and headers, plus ``Autonats-Error-Code``,
  ``Autonats-Error``, ``Autonats-Deliveries``, ``Autonats-Subject`` and the
  call's id as ``Autonats-Msg-Id``.

Both streams have the same number of replicas: by default 3 when the
JetStream the handler (or the client creating the work stream) is connected
to has at least 3 servers, else 1 (:func:`default_replicas`). A stream
leader election (a node lost) is ridden by retries: a client's publish is
sent again with the same ``Nats-Msg-Id`` (so it is stored once) until the
call's deadline; a handler's start retries the stream and consumer set-up
for up to :data:`API_PATIENCE` seconds; the consumer keeps pulling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.aio.client
import nats.aio.msg
import nats.errors
import nats.js
import nats.js.api
import nats.js.errors
from autonats.contract.spec import MethodSpec, ServiceSpec
from autonats.contract.wire import (
    consumer_name,
    dead_letter_subject,
    dead_stream_name,
    stream_name,
)
from autonats.errors import AutonatsError, ProtocolError, TimeoutError
from autonats.runtime.endpoint import Endpoint
from autonats.runtime.reply import Reply

__all__ = [
    "API_PATIENCE",
    "BACKOFF",
    "DEAD_LETTER_HEADERS",
    "DEAD_LETTER_MAX_AGE",
    "DEAD_LETTER_MAX_BYTES",
    "MAX_DELIVER",
    "MAX_REPLICAS",
    "MSG_ID_HEADER",
    "ORIGINAL_ID_HEADER",
    "SUBJECT_HEADER",
    "DurableConsumer",
    "StreamOptions",
    "Streams",
    "check_stream",
    "default_replicas",
    "jetstream_servers",
    "publish",
    "replay_headers",
]

log = logging.getLogger("autonats.durable")

T = TypeVar("T")

#: JetStream de-duplicates publishes carrying the same id within its window.
MSG_ID_HEADER = "Nats-Msg-Id"
#: The call's own id when it differs from the de-duplication id: on a dead
#: letter, and on a call replayed from one (see ``autonats dead replay``).
ORIGINAL_ID_HEADER = "Autonats-Msg-Id"
#: Where the call was published (on a dead letter: where a replay sends it).
SUBJECT_HEADER = "Autonats-Subject"
#: What a dead letter adds to the call's headers (and ``Nats-Msg-Id``, its own).
DEAD_LETTER_HEADERS = (
    "Autonats-Error-Code",
    "Autonats-Error",
    "Autonats-Deliveries",
    SUBJECT_HEADER,
)
#: Deliveries of one call before it goes to the dead-letter stream.
MAX_DELIVER = 5
#: Delay before the first redelivery of a failed call, in seconds; doubles each time.
BACKOFF = 0.5
#: Longest redelivery delay, in seconds.
BACKOFF_MAX = 30.0
DUPLICATE_WINDOW = 120.0
#: Dead letters older than this are dropped (seconds; 7 days).
DEAD_LETTER_MAX_AGE = 7 * 24 * 3600.0
#: Past this size the oldest dead letters are dropped (bytes; 256 MiB).
DEAD_LETTER_MAX_BYTES = 256 * 1024 * 1024
#: JetStream's own limit on a stream's replicas.
MAX_REPLICAS = 5
#: How long a handler's start keeps retrying the stream and consumer set-up
#: while JetStream does not answer (a leader election), in seconds.
API_PATIENCE = 20.0
#: Longest wait for one answer of JetStream before asking again, in seconds.
_ATTEMPT = 2.0
_RETRY_FIRST = 0.05
_RETRY_MAX = 1.0
_FETCH_WAIT = 1.0

_NO_JETSTREAM = "durable oneway methods need JetStream: start nats-server with -js"
#: JetStream's answers to a stream with more replicas than it can place.
_PLACEMENT_ERRORS = {
    10005,  # no suitable peers for placement
    10023,  # insufficient resources
    10074,  # replicas > 1 not supported in non-clustered mode
}
#: JetStream's 503s that mean "not here at all", not "busy electing".
_NOT_ENABLED = {
    10039,  # jetstream not enabled for account
    10076,  # jetstream not enabled
}


def jetstream_servers(nc: nats.aio.client.Client) -> int:
    """How many servers the cluster of ``nc``'s server has, as its INFO announces
    them (``connect_urls``); 1 for a server outside a cluster.

    A normal account cannot ask JetStream for its meta group (that is the
    system account's ``$SYS`` API), so the count is that of the servers the
    connected server advertises to clients: a cluster that hides them
    (``no_advertise``) counts as 1.
    """
    # nats-py keeps the server's INFO of the current connection only here.
    info: dict[str, Any] = getattr(nc, "_server_info", None) or {}
    if not info.get("cluster"):
        return 1
    return max(1, len(set(info.get("connect_urls") or ())))


def default_replicas(nc: nats.aio.client.Client) -> int:
    """3 when the connected JetStream has at least 3 servers (a cluster), else 1."""
    return 3 if jetstream_servers(nc) >= 3 else 1


@dataclass(frozen=True)
class StreamOptions:
    """How a handler sets up its service's streams; None means "not given".

    ``replicas``: of both streams (1 to :data:`MAX_REPLICAS`; default
    :func:`default_replicas`). ``dead_letter_max_age`` (seconds) and
    ``dead_letter_max_bytes``: the dead-letter stream's limits (defaults
    :data:`DEAD_LETTER_MAX_AGE`, :data:`DEAD_LETTER_MAX_BYTES`). Values given
    are applied to existing streams; defaults only to new ones (and to a
    dead-letter stream that has no limit at all), so that an operator's
    ``nats stream edit`` stays.
    """

    replicas: int | None = None
    dead_letter_max_age: float | None = None
    dead_letter_max_bytes: int | None = None

    def __post_init__(self) -> None:
        r = self.replicas
        if r is not None and (
            not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= MAX_REPLICAS
        ):
            raise ValueError(
                f"replicas must be an integer from 1 to {MAX_REPLICAS}, not {r!r}"
            )
        age = self.dead_letter_max_age
        if age is not None and (
            not isinstance(age, int | float) or isinstance(age, bool) or not age > 0
        ):
            raise ValueError(
                f"dead_letter_max_age must be a number of seconds > 0, not {age!r}"
            )
        size = self.dead_letter_max_bytes
        if size is not None and (
            not isinstance(size, int) or isinstance(size, bool) or size < 1
        ):
            raise ValueError(
                f"dead_letter_max_bytes must be an integer >= 1, not {size!r}"
            )


def _durable(spec: ServiceSpec) -> list[MethodSpec]:
    return [m for m in spec.methods.values() if m.durable]


def _work_config(
    spec: ServiceSpec, prefix: str, replicas: int
) -> nats.js.api.StreamConfig:
    return nats.js.api.StreamConfig(
        name=stream_name(prefix, spec.name, spec.version),
        subjects=[m.subject(prefix) for m in _durable(spec)],
        retention=nats.js.api.RetentionPolicy.WORK_QUEUE,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=replicas,
        description=f"autonats durable calls of service {spec.name}",
    )


def _dead_config(
    spec: ServiceSpec, prefix: str, replicas: int, max_age: float, max_bytes: int
) -> nats.js.api.StreamConfig:
    return nats.js.api.StreamConfig(
        name=dead_stream_name(prefix, spec.name, spec.version),
        subjects=[
            dead_letter_subject(prefix, spec.name, m.name, spec.version)
            for m in _durable(spec)
        ],
        retention=nats.js.api.RetentionPolicy.LIMITS,
        discard=nats.js.api.DiscardPolicy.OLD,
        max_age=max_age,
        max_bytes=max_bytes,
        duplicate_window=min(DUPLICATE_WINDOW, max_age),
        num_replicas=replicas,
        description=f"autonats calls of service {spec.name} that failed every delivery",
    )


class Streams:
    """The two streams of one service, as its handler sets them up: created,
    widened to its durable methods, given its replicas and dead-letter limits.

    :meth:`ensure` does the work once per instance, however many consumers ask.
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        spec: ServiceSpec,
        prefix: str,
        options: StreamOptions,
    ) -> None:
        self.nc = nc
        self.spec = spec
        self.prefix = prefix
        self.options = options
        #: The replicas asked for, once :meth:`ensure` has run.
        self.replicas = 0
        self._lock = asyncio.Lock()
        self._done = False

    async def ensure(self) -> None:
        """Create or update both streams (retrying while JetStream elects a leader).

        Raises :class:`~autonats.AutonatsError` when JetStream is missing or
        cannot hold the replicas asked for.
        """
        async with self._lock:
            if self._done:
                return
            options = self.options
            replicas = options.replicas or self._default_replicas()
            self.replicas = replicas
            age = options.dead_letter_max_age or DEAD_LETTER_MAX_AGE
            size = options.dead_letter_max_bytes or DEAD_LETTER_MAX_BYTES
            deadline = asyncio.get_running_loop().time() + API_PATIENCE
            await self._ensure(_work_config(self.spec, self.prefix, replicas), deadline)
            await self._ensure(
                _dead_config(self.spec, self.prefix, replicas, age, size), deadline
            )
            self._done = True

    def _default_replicas(self) -> int:
        servers = jetstream_servers(self.nc)
        replicas = default_replicas(self.nc)
        log.info(
            "%s: durable streams get %d replica%s by default: the JetStream this "
            "handler is connected to has %d server%s%s (choose with replicas=, or "
            "autonats serve --replicas)",
            self.spec.name,
            replicas,
            "s" if replicas > 1 else "",
            servers,
            "s" if servers > 1 else "",
            "" if replicas > 1 else ", so each stored call is on one server only",
        )
        return replicas

    async def _ensure(self, want: nats.js.api.StreamConfig, deadline: float) -> None:
        assert want.name is not None
        name = want.name
        replicas = want.num_replicas or 1
        info = await _stream_info_or_create(self.nc, want, deadline)
        if info is None:
            log.info("created stream %s with %d replica(s)", name, replicas)
            return
        config = info.config
        changes: list[str] = []
        have = list(config.subjects or [])
        missing = [s for s in want.subjects or [] if s not in have]
        if missing:
            config.subjects = have + missing
            changes.append(f"now also takes {', '.join(missing)}")
        current = config.num_replicas or 1
        if current < replicas:
            config.num_replicas = replicas
            changes.append(f"replicas {current} -> {replicas}")
        elif current > replicas and self.options.replicas is not None:
            log.warning(
                "stream %s has %d replicas, more than the %d asked for: left as it "
                "is (autonats never lowers them; nats stream edit %s --replicas %d "
                "does)",
                name,
                current,
                replicas,
                name,
                replicas,
            )
        if want.retention == nats.js.api.RetentionPolicy.LIMITS:
            changes += self._limits(config, want)
        if changes:
            await _retry(
                lambda js: js.update_stream(config),
                self.nc,
                deadline,
                f"updating stream {name}",
                replicas,
            )
            log.info("stream %s: %s", name, "; ".join(changes))

    def _limits(
        self, config: nats.js.api.StreamConfig, want: nats.js.api.StreamConfig
    ) -> list[str]:
        """Bring the dead-letter stream's limits to those asked for (given ones
        always; defaults only where the stream has no limit)."""
        changes = []
        options = self.options
        age, size = config.max_age or 0, config.max_bytes or -1
        if (options.dead_letter_max_age is not None or age <= 0) and (
            abs(age - (want.max_age or 0)) > 1e-3
        ):
            config.max_age = want.max_age
            config.duplicate_window = min(
                config.duplicate_window or DUPLICATE_WINDOW, want.max_age or 0
            )
            changes.append(f"max age {age:g} s -> {want.max_age:g} s")
        if (options.dead_letter_max_bytes is not None or size < 0) and (
            size != want.max_bytes
        ):
            config.max_bytes = want.max_bytes
            changes.append(f"max bytes {size} -> {want.max_bytes}")
        return changes


async def _stream_info_or_create(
    nc: nats.aio.client.Client, want: nats.js.api.StreamConfig, deadline: float
) -> nats.js.api.StreamInfo | None:
    """The stream's info, or None after creating it as ``want``."""
    assert want.name is not None
    name = want.name
    replicas = want.num_replicas or 1
    try:
        return await _retry(
            lambda js: js.stream_info(name), nc, deadline, f"looking up stream {name}"
        )
    except nats.js.errors.NotFoundError:
        pass
    try:
        await _retry(
            lambda js: js.add_stream(want),
            nc,
            deadline,
            f"creating stream {name}",
            replicas,
        )
        return None
    except nats.js.errors.BadRequestError as exc:
        if exc.err_code != 10058:  # 10058: stream name already in use
            raise AutonatsError(
                f"cannot create stream {name}: JetStream refused it: {exc.description}"
            ) from None
    # Created meanwhile by another handler or client.
    return await _retry(
        lambda js: js.stream_info(name), nc, deadline, f"looking up stream {name}"
    )


async def _retry(
    call: Callable[[nats.js.JetStreamContext], Awaitable[T]],
    nc: nats.aio.client.Client,
    deadline: float,
    what: str,
    replicas: int = 0,
) -> T:
    """``call(js)``, asked again while JetStream does not answer (a leader
    election, a node lost) until ``deadline`` (the event loop's clock).

    Raises :class:`~autonats.AutonatsError` for a JetStream that is missing
    or cannot place ``replicas``, :class:`~autonats.TimeoutError` at the
    deadline; other JetStream errors (not found, ...) pass through.
    """
    loop = asyncio.get_running_loop()
    pause = _RETRY_FIRST
    while True:
        left = deadline - loop.time()
        try:
            return await call(nc.jetstream(timeout=max(min(left, _ATTEMPT), 0.001)))
        except nats.errors.NoRespondersError:
            raise AutonatsError(_NO_JETSTREAM) from None
        except nats.js.errors.APIError as exc:
            if exc.err_code in _PLACEMENT_ERRORS:
                raise AutonatsError(_placement(nc, what, replicas, exc)) from None
            # nats-py reports "no responders" (no server has JetStream) as a
            # 503 without an error code; a JetStream that is electing answers
            # with one (10008).
            if exc.err_code in _NOT_ENABLED or (
                isinstance(exc, nats.js.errors.ServiceUnavailableError)
                and exc.err_code is None
            ):
                raise AutonatsError(_NO_JETSTREAM) from None
            if not isinstance(exc, nats.js.errors.ServiceUnavailableError):
                raise
            reason = exc.description or "unavailable"
        except nats.errors.TimeoutError:
            reason = "no answer"
        if loop.time() + pause >= deadline:
            raise TimeoutError(
                f"{what}: JetStream did not answer in time ({reason}); is a stream "
                "or the JetStream meta group without a leader (fewer than a majority "
                "of its servers up)?"
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _RETRY_MAX)


def _placement(
    nc: nats.aio.client.Client, what: str, replicas: int, exc: nats.js.errors.APIError
) -> str:
    servers = jetstream_servers(nc)
    where = (
        "a single JetStream server"
        if servers == 1
        else f"a JetStream cluster of {servers} servers"
    )
    return (
        f"{what} with {replicas} replicas failed: connected to {where}, and "
        f"JetStream says: {exc.description}. Ask for at most as many replicas as "
        "there are JetStream servers (Handler(..., replicas=1), autonats serve "
        "--replicas 1 on a single server), or add servers to the cluster"
    )


async def check_stream(
    nc: nats.aio.client.Client,
    spec: ServiceSpec,
    prefix: str,
    method: MethodSpec,
    timeout: float,
) -> None:
    """Make sure the service's stream takes ``method``'s calls before a client publishes.

    A missing stream is created (no handler has run yet: the calls wait for
    one), with :func:`default_replicas`; an existing stream is never changed,
    so a client of an older or newer version cannot take subjects away from
    the handlers. A stream that lacks the method's subject raises
    :class:`~autonats.ProtocolError`. JetStream is asked again while it does
    not answer, for at most ``timeout`` seconds.
    """
    want = _work_config(spec, prefix, default_replicas(nc))
    deadline = asyncio.get_running_loop().time() + timeout
    info = await _stream_info_or_create(nc, want, deadline)
    if info is None:
        log.info(
            "created stream %s with %d replica(s) for the calls of %s, to wait "
            "for a handler (the JetStream connected to has %d server(s))",
            want.name,
            want.num_replicas,
            spec.name,
            jetstream_servers(nc),
        )
    subject = method.subject(prefix)
    if info is not None and subject not in (info.config.subjects or []):
        raise ProtocolError(
            f"stream {want.name} does not take {subject}: no handler of "
            f"{spec.name}.{method.name} has started on this JetStream yet (a handler "
            "adds its durable methods to the stream when it starts)"
        )


async def publish(
    js: nats.js.JetStreamContext,
    subject: str,
    payload: bytes,
    headers: dict[str, str] | None,
    timeout: float,
) -> None:
    """Publish one durable call with a fresh id; returns once the stream stored it.

    Sent again, with the same id (so that it is stored once), while no stream
    leader answers (a leader election) or an answer is late, for at most
    ``timeout`` seconds; then :class:`~autonats.TimeoutError`.

    No ``Autonats-Timeout`` is sent: a stored call runs later, each delivery
    with the method's declared timeout.
    """
    sent = dict(headers) if headers else {}
    sent[MSG_ID_HEADER] = uuid.uuid4().hex
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = _RETRY_FIRST
    unanswered = 0  # attempts whose outcome is unknown (stored, or not)
    while True:
        left = deadline - loop.time()
        try:
            await js.publish(
                subject, payload, timeout=max(min(left, _ATTEMPT), 0.001), headers=sent
            )
            return
        except (nats.js.errors.NoStreamResponseError, nats.errors.NoRespondersError):
            pass  # no stream leader took it: not stored
        except nats.js.errors.ServiceUnavailableError:
            pass
        except nats.errors.TimeoutError:
            unanswered += 1
        if loop.time() + pause >= deadline:
            maybe = (
                "it may have been stored (an earlier attempt went unanswered)"
                if unanswered
                else "it was not stored"
            )
            raise TimeoutError(
                f"{subject}: no stream stored the call within {timeout:.3g} s: "
                f"{maybe}. The stream has no leader (an election after losing a "
                "node, or fewer than a majority of its replicas up), or no stream "
                "takes the subject any more"
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _RETRY_MAX)


def replay_headers(
    headers: Mapping[str, str], dead_stream: str, seq: int
) -> dict[str, str]:
    """The headers to publish dead letter ``seq`` of ``dead_stream`` again with:
    its own without the dead-letter ones, the call's id kept in
    ``Autonats-Msg-Id``, and a ``Nats-Msg-Id`` of the replay (replaying the
    same letter twice within the de-duplication window stores it once)."""
    sent = {
        k: v
        for k, v in headers.items()
        if k not in DEAD_LETTER_HEADERS and k != MSG_ID_HEADER
    }
    sent[MSG_ID_HEADER] = f"replay:{dead_stream}:{seq}"
    return sent


class DurableConsumer:
    """Pulls one durable method's calls for a handler, within its concurrency,
    and settles each served call (:meth:`settle`)."""

    def __init__(
        self,
        streams: Streams,
        endpoint: Endpoint,
        serve: Callable[[Endpoint, nats.aio.msg.Msg, Any], Coroutine[Any, Any, None]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.streams = streams
        self.nc = streams.nc
        self.prefix = streams.prefix
        self.endpoint = endpoint
        self._serve = serve
        self._spawn = spawn
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Set up the streams, bind the durable consumer and start pulling."""
        spec = self.endpoint.spec
        await self.streams.ensure()
        durable = consumer_name(spec.service, spec.name, spec.version)
        stream = stream_name(self.prefix, spec.service, spec.version)
        config = nats.js.api.ConsumerConfig(
            ack_policy=nats.js.api.AckPolicy.EXPLICIT,
            # Unlimited: autonats counts deliveries itself, so that a call
            # whose dead-lettering fails is delivered again, never stranded.
            max_deliver=-1,
            ack_wait=spec.timeout + 5.0,
            description=f"autonats handlers of {spec.service}.{spec.name}",
            # No num_replicas: JetStream gives the consumer the stream's, and
            # changes it with the stream's.
        )
        deadline = asyncio.get_running_loop().time() + API_PATIENCE
        self._sub = await _retry(
            lambda js: js.pull_subscribe(
                spec.subject(self.prefix), durable=durable, stream=stream, config=config
            ),
            self.nc,
            deadline,
            f"binding consumer {durable} of stream {stream}",
            self.streams.replicas,
        )
        self._task = asyncio.get_running_loop().create_task(self._pull())

    async def stop(self) -> None:
        """Stop pulling; calls already pulled still run and are settled."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def close(self) -> None:
        """Unsubscribe (the durable consumer stays for the next handler)."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None

    async def _pull(self) -> None:
        ep = self.endpoint
        while not self._stopping:
            free = ep.limit - ep.stats.in_flight
            if free <= 0:
                ep.slot_freed.clear()
                await ep.slot_freed.wait()
                continue
            try:
                messages = await self._sub.fetch(free, timeout=_FETCH_WAIT)
            except asyncio.TimeoutError:
                # nats-py's own TimeoutError, or (nats-py 2.16, when a pull's
                # 408 and the deadline meet) a bare asyncio one: both mean
                # "nothing to pull yet", and neither may end the loop.
                continue
            except nats.errors.Error as exc:
                log.warning(
                    "%s.%s: fetch failed: %s", ep.spec.service, ep.spec.name, exc
                )
                await asyncio.sleep(_FETCH_WAIT)
                continue
            for msg in messages:
                ep.stats.in_flight += 1
                self._spawn(self._serve(ep, msg, self.settle))

    async def settle(
        self, ep: Endpoint, msg: nats.aio.msg.Msg, failure: Reply | None, body: bytes
    ) -> None:
        """Acknowledge, retry or dead-letter one served delivery."""
        spec = ep.spec
        deliveries = msg.metadata.num_delivered or 1
        try:
            if failure is None:
                await msg.ack()
                return
            if failure.code == 400 or deliveries >= MAX_DELIVER:
                try:
                    await self._dead_letter(msg, failure, deliveries)
                except (nats.errors.Error, asyncio.TimeoutError) as exc:
                    delay = _backoff(deliveries)
                    log.warning(
                        "%s.%s: the call could not be moved to the dead-letter "
                        "stream (%s); it stays in the work queue and is delivered "
                        "again in %.1f s",
                        spec.service,
                        spec.name,
                        exc or type(exc).__name__,
                        delay,
                    )
                    await msg.nak(delay=delay)
                    return
                await msg.ack()
            else:
                await msg.nak(delay=_backoff(deliveries))
        except nats.errors.Error as exc:
            # The ack or nak did not reach the server: JetStream redelivers after ack_wait.
            log.warning(
                "%s.%s: acknowledgement failed: %s", spec.service, spec.name, exc
            )

    async def _dead_letter(
        self, msg: nats.aio.msg.Msg, failure: Reply, deliveries: int
    ) -> None:
        spec = self.endpoint.spec
        headers = dict(msg.headers or {})
        headers.update(
            zip(
                DEAD_LETTER_HEADERS,
                (
                    str(failure.code),
                    " ".join(failure.message.split())[:512],
                    str(deliveries),
                    msg.subject,
                ),
                strict=True,
            )
        )
        # The call's id moves to Autonats-Msg-Id (a replayed call has it there
        # already); Nats-Msg-Id becomes the stored message's own identity, so a
        # call dead-lettered twice (its ack lost) is kept once, and the same call
        # dead-lettered again after a replay is kept again.
        message_id = headers.pop(MSG_ID_HEADER, None)
        if message_id is not None:
            headers.setdefault(ORIGINAL_ID_HEADER, message_id)
        meta = msg.metadata
        headers[MSG_ID_HEADER] = f"{meta.stream}:{meta.sequence.stream}"
        await self.nc.jetstream().publish(
            dead_letter_subject(self.prefix, spec.service, spec.name, spec.version),
            msg.data,
            headers=headers,
        )
        log.warning(
            "%s.%s: call moved to the dead-letter stream after %d deliveries: %d %s",
            spec.service,
            spec.name,
            deliveries,
            failure.code,
            failure.message,
        )


def _backoff(deliveries: int) -> float:
    return float(min(BACKOFF * 2 ** min(deliveries - 1, 16), BACKOFF_MAX))
