"""Durable oneway calls: ``@autonats.oneway(durable=True)`` over JetStream.

Delivery is at least once. The client's publish returns once the stream has
stored the call. Every handler instance of the service pulls from one
durable consumer per method and acknowledges a call only after the
implementation returned. A call that fails is redelivered with exponential
backoff; after :data:`MAX_DELIVER` deliveries (or at once, for a call that
cannot even be decoded) it is moved to the service's dead-letter stream with
its error, and acknowledged.

Layout, for prefix ``autonats`` and service ``user`` (see docs/protocol.md):

- stream ``autonats_user``: subjects of the durable methods
  (``autonats.user.touch``), work-queue retention, 2 minute de-duplication
  window on ``Nats-Msg-Id``;
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
import re
import time
from typing import TYPE_CHECKING, Any

import nats.errors
import nats.js
import nats.js.api
import nats.js.errors
from autonats.context import Call, _current
from autonats.errors import AutonatsError

if TYPE_CHECKING:
    import nats.aio.msg
    from autonats.server import Handler, _Endpoint, _Reply
    from autonats.spec import MethodSpec, ServiceSpec

__all__ = [
    "BACKOFF",
    "MAX_DELIVER",
    "MSG_ID_HEADER",
    "DurableConsumer",
    "dead_letter_subject",
    "ensure_streams",
    "stream_name",
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


def stream_name(prefix: str, service: str) -> str:
    """The stream holding a service's durable calls, e.g. ``autonats_user``."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{prefix}_{service}")


def consumer_name(service: str, method: str) -> str:
    """The durable consumer of one method, shared by every handler instance."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{service}_{method}")


def dead_letter_subject(prefix: str, service: str, method: str) -> str:
    """Where calls that failed every delivery are kept: ``<prefix>.dead.<service>.<method>``."""
    return f"{prefix}.dead.{service}.{method}"


def _durable(spec: ServiceSpec) -> list[MethodSpec]:
    return [m for m in spec.methods.values() if m.durable]


async def ensure_streams(
    js: nats.js.JetStreamContext, spec: ServiceSpec, prefix: str
) -> None:
    """Create the service's streams, or update them to hold every durable method."""
    methods = _durable(spec)
    name = stream_name(prefix, spec.name)
    try:
        await _ensure(
            js,
            nats.js.api.StreamConfig(
                name=name,
                subjects=[m.subject(prefix) for m in methods],
                retention=nats.js.api.RetentionPolicy.WORK_QUEUE,
                duplicate_window=DUPLICATE_WINDOW,
                description=f"autonats durable calls of service {spec.name}",
            ),
        )
        await _ensure(
            js,
            nats.js.api.StreamConfig(
                name=f"{name}_dead",
                subjects=[
                    dead_letter_subject(prefix, spec.name, m.name) for m in methods
                ],
                description=f"autonats calls of service {spec.name} that failed every delivery",
            ),
        )
    except nats.js.errors.ServiceUnavailableError:
        raise AutonatsError(
            "durable oneway methods need JetStream: start nats-server with -js"
        ) from None
    except nats.errors.NoRespondersError:
        raise AutonatsError(
            "durable oneway methods need JetStream: start nats-server with -js"
        ) from None


async def _ensure(
    js: nats.js.JetStreamContext, config: nats.js.api.StreamConfig
) -> None:
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        # Exists with another configuration (e.g. a method was added): update it.
        await js.update_stream(config)


class DurableConsumer:
    """Pulls one durable method's calls for a handler, within its concurrency."""

    def __init__(self, handler: Handler, endpoint: _Endpoint) -> None:
        self.handler = handler
        self.endpoint = endpoint
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._slot = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        """Check the streams, bind the durable consumer and start pulling."""
        handler, spec = self.handler, self.endpoint.spec
        js = handler.nc.jetstream()
        await ensure_streams(js, handler.spec, handler.prefix)
        self._sub = await js.pull_subscribe(
            spec.subject(handler.prefix),
            durable=consumer_name(spec.service, spec.name),
            stream=stream_name(handler.prefix, spec.service),
            config=nats.js.api.ConsumerConfig(
                ack_policy=nats.js.api.AckPolicy.EXPLICIT,
                max_deliver=MAX_DELIVER,
                ack_wait=spec.timeout + 5.0,
                description=f"autonats handlers of {spec.service}.{spec.name}",
            ),
        )
        self._task = asyncio.get_running_loop().create_task(self._pull())

    async def stop(self) -> None:
        """Stop pulling; calls already pulled still run and are acknowledged."""
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
                self._slot.clear()
                await self._slot.wait()
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
                self.handler._spawn(self._process(msg))

    async def _process(self, msg: nats.aio.msg.Msg) -> None:
        from autonats.server import _decode_args, _Reply, _run_until

        ep = self.endpoint
        spec = ep.spec
        loop = asyncio.get_running_loop()
        headers = msg.headers or {}
        tracing = self.handler._tracing
        span: Any = None
        token: object = None
        if tracing is not None:  # a child of the publisher's span, on every delivery
            span, token = tracing.start_server(spec, msg.subject, headers)
        failure: _Reply | None = None
        served = False  # the implementation ran to an outcome (was not cancelled)
        try:
            started = time.perf_counter_ns()
            try:
                values = _decode_args(spec, msg.data)
                deadline = loop.time() + spec.timeout
                _current.set(Call(spec.service, spec.name, deadline, headers))
                await _run_until(self.handler._deadlines, loop, deadline, ep, values)
            except _Reply as reply:
                failure = reply
            except Exception as exc:  # a bug of ours: never leave it unacknowledged
                failure = _Reply(500, "internal error", "InternalError", cause=exc)
            served = True
            await self._settle(msg, failure, time.perf_counter_ns() - started)
        finally:
            # Also when cancelled: the slot is free again, the span ends.
            ep.stats.in_flight -= 1
            self._slot.set()
            if tracing is not None:
                if failure is not None:
                    tracing.finish(span, failure.code, failure.cause)
                elif served:
                    tracing.finish(span, 0)
                tracing.end(span, token)

    async def _settle(
        self, msg: nats.aio.msg.Msg, failure: _Reply | None, duration: int
    ) -> None:
        """Count the outcome, then acknowledge, retry or dead-letter the delivery."""
        from autonats.server import _log_failure

        ep = self.endpoint
        spec = ep.spec
        deliveries = msg.metadata.num_delivered or 1
        try:
            if failure is None:
                ep.stats.finished(duration, 0, "")
                await msg.ack()
                return
            ep.stats.finished(duration, failure.code, failure.message)
            _log_failure(spec, failure, duration)
            if failure.code == 400 or deliveries >= MAX_DELIVER:
                await self._dead_letter(msg, failure.code, failure.message, deliveries)
                await msg.ack()
            else:
                await msg.nak(delay=min(BACKOFF * 2 ** (deliveries - 1), BACKOFF_MAX))
        except nats.errors.Error as exc:
            # The ack or nak did not reach the server: JetStream redelivers after ack_wait.
            log.warning(
                "%s.%s: acknowledgement failed: %s", spec.service, spec.name, exc
            )

    async def _dead_letter(
        self, msg: nats.aio.msg.Msg, code: int, message: str, deliveries: int
    ) -> None:
        spec = self.endpoint.spec
        headers = dict(msg.headers or {})
        headers.update(
            {
                "Autonats-Error-Code": str(code),
                "Autonats-Error": " ".join(message.split())[:512],
                "Autonats-Deliveries": str(deliveries),
            }
        )
        # Its own de-duplication must not drop it: keep the id under another name.
        message_id = headers.pop(MSG_ID_HEADER, None)
        if message_id is not None:
            headers["Autonats-Msg-Id"] = message_id
        js = self.handler.nc.jetstream()
        await js.publish(
            dead_letter_subject(self.handler.prefix, spec.service, spec.name),
            msg.data,
            headers=headers,
        )
        log.warning(
            "%s.%s: call moved to the dead-letter stream after %d deliveries: %d %s",
            spec.service,
            spec.name,
            deliveries,
            code,
            message,
        )
