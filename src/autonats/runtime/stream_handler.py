"""Serving a stream method: its invoke and settle steps, and its control subject.

A stream is served by the handler's one path (``Handler._serve_one``), on
the concurrency slot its request took, which it holds for the stream's life:
concurrency limits count open streams, and the counters, logs and span see a
stream as one call. Its invoke step, :meth:`StreamMethod.invoke`, tells the
client where to send credit and cancel, then iterates the implementation's
async generator, sending each item while the client's credit allows it
(docs/protocol.md, section 11). Its settle step sends the error reply that
ends a failed stream.

The client's credit and cancel messages arrive on one wildcard subscription
per stream method, ``<method subject>.<instance id>.*``, routed by the last
token to the stream it names. One task per method, running while streams are
open, sends heartbeats and gives up on clients that fell silent.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import nats.aio.client
import nats.aio.msg
import nats.aio.subscription
import nats.errors
from autonats.contract import codec, wire
from autonats.errors import ServiceError
from autonats.runtime import deadlines
from autonats.runtime.context import _current
from autonats.runtime.endpoint import Endpoint
from autonats.runtime.reply import Reply, service_reply

__all__ = ["StreamMethod"]

log = logging.getLogger("autonats.handler")

_now = time.monotonic

#: How often open streams are looked at (heartbeats, silent clients).
_TICK = 0.25
#: Silence after which a stream sends a heartbeat: with the tick, the client
#: hears from it at least every :data:`wire.HEARTBEAT_INTERVAL`.
_QUIET = wire.HEARTBEAT_INTERVAL - _TICK
#: No server accepts less (see handler.py): smaller items skip the lookup.
_SMALLEST_MAX_PAYLOAD = 64 * 1024

# Why a stream stops before its generator ends.
_CANCELLED = "cancelled"  # the client said so
_ABANDONED = "abandoned"  # the client fell silent
_SHUTDOWN = "shutdown"  # the handler is shutting down


class _Open:
    """One stream being served."""

    __slots__ = (
        "cancelled",
        "credit",
        "credit_bytes",
        "heard",
        "reply",
        "seen",
        "sent",
        "sent_bytes",
        "stop",
        "task",
        "told",
        "waiter",
    )

    def __init__(
        self, task: asyncio.Task[Any], reply: str, credit: int, credit_bytes: int
    ) -> None:
        self.task = task
        self.reply = reply
        self.credit = credit  # items the client accepts in all
        self.credit_bytes = credit_bytes  # bytes of items it accepts in all
        self.sent = 0
        self.sent_bytes = 0
        self.seen = 0  # ``sent`` at the last tick
        self.heard = self.told = _now()
        self.stop: str | None = None
        self.cancelled = False  # the task was cancelled to stop it
        self.waiter: asyncio.Future[None] | None = None  # waiting for credit

    def halt(self, reason: str) -> None:
        """Stop the stream: wake it if it waits for credit, else cancel its
        task (it waits in the generator, or on the connection)."""
        if self.stop is not None:
            return
        self.stop = reason
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        else:
            self.cancelled = True
            self.task.cancel()


class StreamMethod:
    """Serves one stream method of a handler: its open streams and control subject.

    ``expire(task)`` is the handler's way to cancel a task for its deadline.
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        ep: Endpoint,
        expire: Callable[[asyncio.Task[Any]], None],
    ) -> None:
        self.nc = nc
        self.ep = ep
        self._expire = expire
        self.open: dict[str, _Open] = {}
        self._prefix = ""  # the control subjects, up to the stream's token
        self._sub: nats.aio.subscription.Subscription | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._deadlines: deadlines.Deadlines | None = None
        self.closing = False

    async def start(self, subject: str, instance: str) -> None:
        """Subscribe the control subjects of the method at ``subject`` on
        handler instance ``instance`` (before the method's own subscription)."""
        self.closing = False
        self._deadlines = deadlines.for_loop(asyncio.get_running_loop())
        self._prefix = wire.control_subject(subject, instance, "")
        self._sub = await self.nc.subscribe(self._prefix + "*", cb=self._on_control)

    def end_all(self) -> None:
        """Shutting down: refuse new streams, stop the open ones (each ends
        with a 503 ``ShuttingDown`` error the client sees after its items)."""
        self.closing = True
        for stream in list(self.open.values()):
            stream.halt(_SHUTDOWN)

    async def stop(self) -> None:
        """Unsubscribe the control subjects (once every stream has ended)."""
        sub, self._sub = self._sub, None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except nats.errors.Error as exc:
                log.debug("unsubscribing %s failed: %s", sub.subject, exc)
        ticker, self._ticker = self._ticker, None
        if ticker is not None and not ticker.done():
            ticker.cancel()

    # -- invoke: the stream's life ---------------------------------------------

    async def invoke(self, msg: nats.aio.msg.Msg, values: tuple[Any, ...]) -> None:
        """Run the stream of ``msg`` to its end (the invoke step of ``_serve_one``).

        Returns when the generator is exhausted (the end message sent) or the
        client cancelled; raises :class:`Reply` for every failure, which the
        settle step sends.
        """
        ep = self.ep
        spec = ep.spec
        reply = msg.reply
        if not reply:
            raise Reply(
                400, "a stream needs a reply subject: its items go there", "BadRequest"
            )
        headers = msg.headers or {}
        try:
            credit = wire.parse_count(
                wire.CREDIT_HEADER, headers.get(wire.CREDIT_HEADER)
            )
            credit_bytes = _credit_bytes(headers)
            text = headers.get(wire.TIMEOUT_HEADER)
            budget = None if text is None else wire.parse_timeout(text)
        except ValueError as exc:
            raise Reply(400, str(exc), "BadRequest") from None
        if budget == 0:
            raise Reply(
                504, "deadline exceeded before the call started", "DeadlineExceeded"
            )
        if self.closing:
            # Not started: safe to retry, on another instance.
            raise Reply(503, "the handler is shutting down: try again", "Overloaded")
        task = asyncio.current_task()
        assert task is not None and self._deadlines is not None
        # The call's deadline is the whole stream's, if the client gave one:
        # it bounds the stream and every call its generator makes.
        whole = None if budget is None else _now() + budget
        if whole is None:
            self._deadlines.forget(task)
        else:
            self._deadlines.watch(task, whole, self._expire, task)
        _current.set((spec.service, spec.name, whole or float("inf"), headers))
        stream = _Open(task, reply, credit, credit_bytes or _UNLIMITED)
        # Unguessable: anyone allowed to call the method may publish to its
        # control subjects, and must not be able to cancel others' streams.
        token = secrets.token_hex(8)
        self.open[token] = stream
        agen: Any = None
        try:
            try:
                await self.nc.publish(
                    reply,
                    b"",
                    headers={
                        wire.STREAM_HEADER: wire.STREAM_OPEN,
                        wire.CONTROL_HEADER: self._prefix + token,
                    },
                )
                self._watch()
                if spec.by_position:
                    agen = ep.impl(*values)
                else:
                    agen = codec.call_with(ep.impl, values, spec.params)
                if not hasattr(agen, "__anext__"):
                    raise TypeError(
                        f"{spec.name}() returned {type(agen).__name__}, not an async "
                        "iterator: implement it as an async generator (async def "
                        "with yield)"
                    )
                await self._pump(stream, agen)
            except asyncio.CancelledError:
                if stream.stop is None:
                    raise  # the deadline (the handler answers 504) or the loop's end
            except Reply:
                raise
            except ServiceError as exc:
                raise service_reply(exc) from None
            except Exception as exc:
                if whole is not None and _now() >= whole:
                    raise Reply(504, "deadline exceeded", "DeadlineExceeded") from None
                raise Reply(500, "internal error", "InternalError", cause=exc) from None
            finally:
                del self.open[token]  # no more control: nothing cancels what follows
                if stream.cancelled:
                    uncancel = getattr(task, "uncancel", None)
                    if uncancel is not None:  # Python 3.11+: this cancel is handled
                        uncancel()
        finally:
            if agen is not None:
                await _close(agen, spec.service, spec.name)
        if stream.stop == _CANCELLED:
            return  # the client has gone: nothing to send
        if stream.stop == _ABANDONED:
            raise Reply(
                408,
                f"stream abandoned: nothing from the client for {wire.PEER_TIMEOUT:g} s",
                "Abandoned",
            )
        if stream.stop == _SHUTDOWN:
            raise Reply(503, "the handler is shutting down", "ShuttingDown")
        await self.nc.publish(
            reply,
            b"",
            headers={
                wire.STREAM_HEADER: wire.STREAM_END,
                wire.ITEMS_HEADER: str(stream.sent),
            },
        )

    async def _pump(self, stream: _Open, agen: Any) -> None:
        """Send the generator's items while the credit allows; wait for more."""
        publish = self.nc.publish
        reply = stream.reply
        encode = codec.encode
        anext = agen.__anext__
        loop = asyncio.get_running_loop()
        while True:
            if stream.sent >= stream.credit or stream.sent_bytes >= stream.credit_bytes:
                waiter = stream.waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    stream.waiter = None
                if stream.stop is not None:
                    return
                continue
            try:
                item = await anext()
            except StopAsyncIteration:
                return
            if stream.stop is not None:  # a generator that swallowed its cancel
                return
            data = encode(item)
            size = len(data)
            if size > _SMALLEST_MAX_PAYLOAD and size > self.nc.max_payload:
                raise Reply(
                    500,
                    f"internal error: an item ({size} bytes) exceeds the server's "
                    f"max_payload ({self.nc.max_payload} bytes)",
                    "InternalError",
                )
            stream.sent += 1  # before the write: a heartbeat meanwhile counts it
            stream.sent_bytes += size
            await publish(reply, data)

    # -- settle ------------------------------------------------------------------

    async def settle(
        self,
        ep: Endpoint,
        msg: nats.aio.msg.Msg,
        failure: Reply | None,
        body: bytes,
    ) -> None:
        """A failed stream ends with its error reply (docs/protocol.md, section 3)."""
        if failure is None or not msg.reply:
            return
        try:
            await self.nc.publish(msg.reply, failure.body(), headers=failure.headers())
        except nats.errors.Error as exc:
            log.warning("%s.%s: error not sent: %s", ep.spec.service, ep.spec.name, exc)

    # -- control: credit and cancel; heartbeats and silence ----------------------

    async def _on_control(self, msg: nats.aio.msg.Msg) -> None:
        stream = self.open.get(msg.subject[len(self._prefix) :])
        if stream is None:
            return  # ended already: a late cancel is harmless
        stream.heard = _now()
        headers = msg.headers
        if not headers:
            return
        kind = headers.get(wire.STREAM_HEADER)
        if kind == wire.STREAM_CREDIT:
            try:
                credit = wire.parse_count(
                    wire.CREDIT_HEADER, headers.get(wire.CREDIT_HEADER)
                )
                credit_bytes = _credit_bytes(headers)
            except ValueError:
                return
            # Totals: a stale or repeated grant changes nothing.
            grown = credit > stream.credit
            if grown:
                stream.credit = credit
            if credit_bytes is not None and credit_bytes > stream.credit_bytes:
                stream.credit_bytes = credit_bytes
                grown = True
            waiter = stream.waiter
            if grown and waiter is not None and not waiter.done():
                waiter.set_result(None)
        elif kind == wire.STREAM_CANCEL:
            stream.halt(_CANCELLED)

    def _watch(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        """While streams are open: heartbeats for quiet ones, and an end to
        those whose client fell silent."""
        while self.open:
            await asyncio.sleep(_TICK)
            try:
                await self._look()
            except Exception:  # never let one bad tick stop every heartbeat
                log.exception("%s: stream heartbeats failed", self.ep.spec.name)

    async def _look(self) -> None:
        """One look at every open stream."""
        now = _now()
        for token, stream in list(self.open.items()):
            if self.open.get(token) is not stream:
                continue  # ended while a heartbeat was being sent
            if stream.sent != stream.seen:
                stream.seen = stream.sent
                stream.told = now
            if now - stream.heard >= wire.PEER_TIMEOUT:
                stream.halt(_ABANDONED)
            elif now - stream.told >= _QUIET and stream.stop is None:
                stream.told = now
                try:
                    await self.nc.publish(
                        stream.reply,
                        b"",
                        headers={
                            wire.STREAM_HEADER: wire.STREAM_HEARTBEAT,
                            wire.ITEMS_HEADER: str(stream.sent),
                        },
                    )
                except nats.errors.Error as exc:
                    log.debug("stream heartbeat not sent: %s", exc)


#: The byte credit of a client that gives none.
_UNLIMITED = wire.MAX_COUNT + 1


def _credit_bytes(headers: dict[str, str]) -> int | None:
    value = headers.get(wire.CREDIT_BYTES_HEADER)
    return None if value is None else wire.parse_count(wire.CREDIT_BYTES_HEADER, value)


async def _close(agen: Any, service: str, method: str) -> None:
    """Close the generator (its ``finally`` runs); a failure there is logged."""
    aclose = getattr(agen, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        log.exception("%s.%s: closing the stream's generator failed", service, method)
