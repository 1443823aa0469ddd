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

Layout, for prefix ``autonats`` and service ``user`` (see docs/protocol.md):

- stream ``autonats_user``: subjects of the durable methods
  (``autonats.user.touch``), work-queue retention, 2 minute de-duplication
  window on ``Nats-Msg-Id``. Only handlers widen it (a newer handler adds its
  methods); nothing narrows it;
- consumer ``user_touch`` per durable method (explicit ack);
- dead-letter stream ``autonats_user_dead``: subject
  ``autonats.dead.user.touch``, the original body and headers, plus
  ``Autonats-Error-Code``, ``Autonats-Error``, ``Autonats-Deliveries`` and the
  call's id as ``Autonats-Msg-Id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import nats.aio.client
import nats.aio.msg
import nats.errors
import nats.js
import nats.js.api
import nats.js.errors
from autonats.contract.spec import MethodSpec, ServiceSpec
from autonats.contract.wire import consumer_name, dead_letter_subject, stream_name
from autonats.errors import AutonatsError, ProtocolError
from autonats.runtime.endpoint import Endpoint
from autonats.runtime.reply import Reply

__all__ = [
    "BACKOFF",
    "MAX_DELIVER",
    "MSG_ID_HEADER",
    "DurableConsumer",
    "check_stream",
    "ensure_streams",
    "publish",
]

log = logging.getLogger("autonats.durable")

#: JetStream de-duplicates publishes carrying the same id within its window.
MSG_ID_HEADER = "Nats-Msg-Id"
#: Deliveries of one call before it goes to the dead-letter stream.
MAX_DELIVER = 5
#: Delay before the first redelivery of a failed call, in seconds; doubles each time.
BACKOFF = 0.5
#: Longest redelivery delay, in seconds.
BACKOFF_MAX = 30.0
DUPLICATE_WINDOW = 120.0
_FETCH_WAIT = 1.0

_NO_JETSTREAM = "durable oneway methods need JetStream: start nats-server with -js"


def _durable(spec: ServiceSpec) -> list[MethodSpec]:
    return [m for m in spec.methods.values() if m.durable]


def _work_config(spec: ServiceSpec, prefix: str) -> nats.js.api.StreamConfig:
    return nats.js.api.StreamConfig(
        name=stream_name(prefix, spec.name),
        subjects=[m.subject(prefix) for m in _durable(spec)],
        retention=nats.js.api.RetentionPolicy.WORK_QUEUE,
        duplicate_window=DUPLICATE_WINDOW,
        description=f"autonats durable calls of service {spec.name}",
    )


def _dead_config(spec: ServiceSpec, prefix: str) -> nats.js.api.StreamConfig:
    return nats.js.api.StreamConfig(
        name=f"{stream_name(prefix, spec.name)}_dead",
        subjects=[
            dead_letter_subject(prefix, spec.name, m.name) for m in _durable(spec)
        ],
        description=f"autonats calls of service {spec.name} that failed every delivery",
    )


async def ensure_streams(
    js: nats.js.JetStreamContext, spec: ServiceSpec, prefix: str
) -> None:
    """Create the service's streams, or widen them to hold every durable method
    of ``spec`` (subjects other handlers added stay). Handlers only."""
    try:
        for config in (_work_config(spec, prefix), _dead_config(spec, prefix)):
            await _widen(js, config)
    except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError):
        raise AutonatsError(_NO_JETSTREAM) from None


async def _widen(
    js: nats.js.JetStreamContext, config: nats.js.api.StreamConfig
) -> None:
    assert config.name is not None
    try:
        info = await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(config)
            return
        except nats.js.errors.BadRequestError:  # created meanwhile by another handler
            info = await js.stream_info(config.name)
    have = list(info.config.subjects or [])
    missing = [s for s in config.subjects or [] if s not in have]
    if missing:
        info.config.subjects = have + missing
        await js.update_stream(info.config)
        log.info("stream %s now also takes %s", config.name, ", ".join(missing))


async def check_stream(
    js: nats.js.JetStreamContext, spec: ServiceSpec, prefix: str, method: MethodSpec
) -> None:
    """Make sure the service's stream takes ``method``'s calls before a client publishes.

    A missing stream is created (no handler has run yet: the calls wait for
    one); an existing stream is never changed, so a client of an older or
    newer version cannot take subjects away from the handlers. A stream that
    lacks the method's subject raises :class:`~autonats.ProtocolError`.
    """
    config = _work_config(spec, prefix)
    assert config.name is not None
    try:
        try:
            info = await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            try:
                info = await js.add_stream(config)
            except nats.js.errors.BadRequestError:  # created meanwhile
                info = await js.stream_info(config.name)
    except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError):
        raise AutonatsError(_NO_JETSTREAM) from None
    subject = method.subject(prefix)
    if subject not in (info.config.subjects or []):
        raise ProtocolError(
            f"stream {config.name} does not take {subject}: no handler of "
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
    """Publish one durable call with a fresh id; returns once the stream stored it
    (waiting at most ``timeout`` seconds).

    No ``Autonats-Timeout`` is sent: a stored call runs later, each delivery
    with the method's declared timeout.
    """
    sent = dict(headers) if headers else {}
    sent[MSG_ID_HEADER] = uuid.uuid4().hex
    await js.publish(subject, payload, timeout=max(timeout, 0.001), headers=sent)


class DurableConsumer:
    """Pulls one durable method's calls for a handler, within its concurrency,
    and settles each served call (:meth:`settle`)."""

    def __init__(
        self,
        nc: nats.aio.client.Client,
        service: ServiceSpec,
        prefix: str,
        endpoint: Endpoint,
        serve: Callable[[Endpoint, nats.aio.msg.Msg, Any], Coroutine[Any, Any, None]],
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self.nc = nc
        self.service = service
        self.prefix = prefix
        self.endpoint = endpoint
        self._serve = serve
        self._spawn = spawn
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        """Check the streams, bind the durable consumer and start pulling."""
        spec = self.endpoint.spec
        js = self.nc.jetstream()
        await ensure_streams(js, self.service, self.prefix)
        self._sub = await js.pull_subscribe(
            spec.subject(self.prefix),
            durable=consumer_name(spec.service, spec.name),
            stream=stream_name(self.prefix, spec.service),
            config=nats.js.api.ConsumerConfig(
                ack_policy=nats.js.api.AckPolicy.EXPLICIT,
                # Unlimited: autonats counts deliveries itself, so that a call
                # whose dead-lettering fails is delivered again, never stranded.
                max_deliver=-1,
                ack_wait=spec.timeout + 5.0,
                description=f"autonats handlers of {spec.service}.{spec.name}",
            ),
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
            except nats.errors.TimeoutError:
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
            {
                "Autonats-Error-Code": str(failure.code),
                "Autonats-Error": " ".join(failure.message.split())[:512],
                "Autonats-Deliveries": str(deliveries),
            }
        )
        # Its own de-duplication must not drop it: keep the id under another name.
        message_id = headers.pop(MSG_ID_HEADER, None)
        if message_id is not None:
            headers["Autonats-Msg-Id"] = message_id
        await self.nc.jetstream().publish(
            dead_letter_subject(self.prefix, spec.service, spec.name),
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
