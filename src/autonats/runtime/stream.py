"""Server streams on the client: :class:`Stream`, what a stream method returns.

A stream is one call of the client pipeline (``Client._invoke``): its
transport, :meth:`Receiver.run`, opens the stream and lives as long as the
stream does, so the deadline, headers, encoding, counters and span are the
pipeline's own, and the stream's end (the last item, an error, a close, a
``break``, a cancelled caller) is when the pipeline records its outcome. It
runs in a task of its own, started on first use.

Items never pass through that task: the connection's inbox hands each one to
:meth:`Receiver.on_message`, which appends it to the stream's buffer, and the
consumer takes it from there, decoding it and granting the handler more
credit as it goes. The buffer never holds more than the credit granted: one
window ahead of the consumer, ``window`` items and ``window_bytes`` bytes
(plus the one item that crosses it): docs/protocol.md, section 11.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Generic, TypeVar

import nats.aio.client
import nats.aio.msg
import nats.errors
from autonats._translate import nats_error
from autonats.contract import wire
from autonats.errors import (
    AutonatsError,
    NoRespondersError,
    OverloadedError,
    ProtocolError,
    TimeoutError,
)
from autonats.runtime import deadlines, retry
from autonats.runtime.context import _current
from autonats.runtime.inbox import Inbox, inbox_for

__all__ = [
    "DEFAULT_WINDOW",
    "DEFAULT_WINDOW_BYTES",
    "Receiver",
    "Stream",
    "check_window",
    "open_raw",
]

T = TypeVar("T")

#: Items a stream's client lets the handler send ahead of its consumer.
DEFAULT_WINDOW = 512
#: Bytes of items it lets the handler send ahead (the first item past it too).
DEFAULT_WINDOW_BYTES = 1 << 20

_now = time.monotonic

#: How often a stream's task looks at its stream (liveness, heartbeat).
_TICK = 0.25
#: Silence after which the client sends a heartbeat: with the tick, the
#: handler hears from it at least every :data:`wire.HEARTBEAT_INTERVAL`.
_QUIET = wire.HEARTBEAT_INTERVAL - _TICK

#: The stream's outcome when the handler sent its end message.
_END = object()

#: ``(client, spec, subject, payload, headers, deadline, explicit)`` -> None:
#: the pipeline's transport signature (runtime/client.py).
Run = Callable[..., Coroutine[Any, Any, None]]


def check_window(window: int, name: str = "stream_window") -> int:
    """``window`` if it is an integer >= 1 (at most 10^17), else ``ValueError``."""
    if (
        isinstance(window, bool)
        or not isinstance(window, int)
        or not 1 <= window <= wire.MAX_COUNT // 10
    ):
        raise ValueError(f"{name} must be an integer >= 1, not {window!r}")
    return window


class Receiver(Generic[T]):
    """One stream's state on the client: what arrived, what was granted, how it ended.

    ``launch(run)`` returns the coroutine that runs the stream's transport
    ``run`` (the pipeline, for a generated client). ``decode`` turns an
    item's body into a value; ``error_of(headers, body)`` an error reply into
    its exception. ``timeout`` bounds the wait for each item; ``window`` and
    ``window_bytes`` how far the handler may run ahead of the consumer.
    """

    __slots__ = (
        "_decode",
        "_error_of",
        "_inbox_of",
        "_launch",
        "_nc",
        "by_handler",
        "consumed",
        "consumed_bytes",
        "control",
        "granted",
        "granted_bytes",
        "heard",
        "items",
        "label",
        "loop",
        "opened",
        "outcome",
        "received",
        "received_bytes",
        "regrant",
        "regrant_bytes",
        "signal",
        "stopped",
        "task",
        "timeout",
        "told",
        "waiter",
        "window",
        "window_bytes",
    )

    def __init__(
        self,
        nc: nats.aio.client.Client,
        inbox_of: Callable[[], Awaitable[Inbox]],
        launch: Callable[[Run], Coroutine[Any, Any, Any]],
        decode: Callable[[bytes], T],
        error_of: Callable[[dict[str, str], bytes], Exception | None],
        *,
        label: str,
        timeout: float,
        window: int = DEFAULT_WINDOW,
        window_bytes: int = DEFAULT_WINDOW_BYTES,
    ) -> None:
        self._nc = nc
        self._inbox_of = inbox_of
        self._launch = launch
        self._decode = decode
        self._error_of = error_of
        self.label = label
        self.timeout = timeout
        self.window = window
        self.window_bytes = window_bytes
        self.items: collections.deque[bytes] = collections.deque()
        self.received = 0  # items arrived
        self.consumed = 0  # items taken by the consumer
        self.granted = 0  # items the handler may send in all
        self.received_bytes = 0  # the same in bytes of item bodies
        self.consumed_bytes = 0
        self.granted_bytes = 0
        # Consumed this far (items, bytes), more credit is due: every half
        # window, so the handler has the other half to send while it travels.
        self.regrant = self.regrant_bytes = 0
        self.control: str | None = None  # where credit and cancel go, once open
        self.opened = False
        #: None while running; :data:`_END` or the error that ended the stream.
        self.outcome: object = None
        self.by_handler = False  # the handler ended it: nothing to cancel
        self.heard = 0.0  # when the handler was last heard from
        self.told = 0.0  # when the handler was last sent something
        self.signal: asyncio.Future[None] | None = None  # the task waits on it
        self.waiter: asyncio.Future[None] | None = None  # the consumer waits on it
        self.task: asyncio.Task[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopped = False  # closed, or its end already raised to the consumer

    # -- the consumer's side ----------------------------------------------------

    def start(self) -> None:
        """Open the stream (once): start the task that runs it."""
        if self.task is not None or self.stopped:
            return
        loop = self.loop = asyncio.get_running_loop()
        # The task copies the caller's context: its trace, the deadline of the
        # call being served (which bounds the whole stream).
        self.task = loop.create_task(self._launch(self.run))
        self.task.add_done_callback(self._task_done)

    async def next(self) -> T:
        """The next item: waits at most ``timeout`` for it; raises the stream's
        error after the items that came before it, or StopAsyncIteration."""
        items = self.items
        if not items:
            await self._refill()
        data = items.popleft()
        self.consumed += 1
        self.consumed_bytes += len(data)
        if self.consumed >= self.regrant or self.consumed_bytes >= self.regrant_bytes:
            await self._grant()
        try:
            return self._decode(data)
        except AutonatsError as exc:  # a ProtocolError: the stream cannot go on
            await self._fail(exc)
            raise

    async def batch(self, limit: int) -> list[T]:
        """The items that have arrived, at least one and at most ``limit``
        (what :meth:`next` would return one by one)."""
        items = self.items
        if not items:
            await self._refill()
        taken = [items.popleft() for _ in range(min(limit, len(items)))]
        self.consumed += len(taken)
        self.consumed_bytes += sum(map(len, taken))
        if self.consumed >= self.regrant or self.consumed_bytes >= self.regrant_bytes:
            await self._grant()
        decode = self._decode
        try:
            return [decode(data) for data in taken]
        except AutonatsError as exc:
            await self._fail(exc)
            raise

    def _granting(self, granted: int, granted_bytes: int) -> None:
        """Record a grant (totals), and when the next one is due."""
        self.granted, self.granted_bytes = granted, granted_bytes
        self.regrant = granted - self.window // 2
        self.regrant_bytes = granted_bytes - self.window_bytes // 2

    async def _refill(self) -> None:
        """Wait until an item is buffered, or raise how the stream ended."""
        if self.task is None:
            if self.stopped:
                raise StopAsyncIteration
            self.start()
        task = self.task
        assert task is not None and self.loop is not None
        sweeper = deadlines.for_loop(self.loop)
        while not self.items:
            if task.done():
                self._raise_end(task)
            waiter = self.waiter = self.loop.create_future()
            sweeper.watch(waiter, _now() + self.timeout, _expire, waiter)
            try:
                await waiter
            except TimeoutError:
                await self._fail(
                    TimeoutError(f"{self.label}: no item within {self.timeout:g} s")
                )
            except asyncio.CancelledError:
                self.abandon()  # the consumer's task was cancelled: so is the stream
                raise
            finally:
                self.waiter = None
                sweeper.forget(waiter)

    def _raise_end(self, task: asyncio.Task[Any]) -> None:
        if self.stopped or task.cancelled():
            self.stopped = True
            raise StopAsyncIteration
        self.stopped = True  # like a generator: its error is raised once
        error = task.exception()
        if error is not None:
            raise error
        raise StopAsyncIteration

    async def _grant(self) -> None:
        control = self.control
        if control is None or self.outcome is not None:
            return
        self._granting(
            self.consumed + self.window, self.consumed_bytes + self.window_bytes
        )
        try:
            await self._send(control, wire.STREAM_CREDIT)
        except AutonatsError as exc:
            await self._fail(exc)
            raise

    async def _fail(self, error: BaseException) -> None:
        """End the stream with ``error`` (the consumer's side saw it) and wait
        until its task has recorded it and told the handler."""
        self._end(error, by_handler=False)
        task = self.task
        if task is not None and not task.done():
            await asyncio.wait({task})

    async def close(self) -> None:
        """Stop the stream: the handler is told (its generator stops), and
        the task records the call as cancelled. Idempotent."""
        self.stopped = True
        self.items.clear()
        task = self.task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})

    def abandon(self) -> None:
        """:meth:`close` without waiting, from any thread (the stream was dropped)."""
        self.stopped = True
        task, loop = self.task, self.loop
        if task is None or loop is None or task.done():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            if asyncio._get_running_loop() is loop:
                task.cancel()
            else:
                loop.call_soon_threadsafe(task.cancel)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved: the consumer raises it, or nobody wants it
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the handler's side (the inbox calls this for every message) -------------

    def on_message(self, msg: nats.aio.msg.Msg) -> None:
        """A message of the stream arrived: an item, a control message or an error."""
        self.heard = _now()
        headers = msg.headers
        if not headers:  # an item: the hot path
            if self.outcome is not None:
                return
            data = msg.data
            if (
                self.received >= self.granted
                or self.received_bytes >= self.granted_bytes
            ):
                self._end(
                    ProtocolError(
                        f"{self.label}: the handler sent more than the credit "
                        f"({self.granted} items, {self.granted_bytes} bytes)"
                    ),
                    by_handler=False,
                )
                return
            self.received += 1
            self.received_bytes += len(data)
            self.items.append(data)
            waiter = self.waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return
        kind = headers.get(wire.STREAM_HEADER)
        if kind == wire.STREAM_HEARTBEAT:
            self._check_items(headers, at_end=False)
        elif kind == wire.STREAM_OPEN:
            control = headers.get(wire.CONTROL_HEADER)
            if not control:
                missing = ProtocolError(
                    f"{self.label}: the open message has no control"
                )
                self._end(missing, by_handler=False)
                return
            self.control = control
            self.opened = True
            self._wake()
        elif kind == wire.STREAM_END:
            if self._check_items(headers, at_end=True):
                self._end(_END, by_handler=True)
        elif headers.get(wire.STATUS_HEADER) == "503" and not msg.data:
            self._end(NoRespondersError(f"no handler serves {self.label}"), True)
        else:
            error = self._error_of(headers, msg.data)
            if error is not None:
                self._end(error, by_handler=True)
            # Anything else (a kind from a newer handler) is ignored.

    def _check_items(self, headers: dict[str, str], *, at_end: bool) -> bool:
        """Whether every item the handler says it sent has arrived (core NATS
        drops messages while a connection reconnects)."""
        try:
            sent = wire.parse_count(wire.ITEMS_HEADER, headers.get(wire.ITEMS_HEADER))
        except ValueError:
            return True  # nothing to check against
        if sent > self.received or (at_end and sent != self.received):
            lost = sent - self.received
            self._end(
                ProtocolError(
                    f"{self.label}: {lost} item(s) lost in transit (the handler sent "
                    f"{sent}, {self.received} arrived)"
                ),
                by_handler=False,
            )
            return False
        return True

    def _end(self, outcome: object, by_handler: bool) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.by_handler = by_handler
            self._wake()

    def _wake(self) -> None:
        signal = self.signal
        if signal is not None and not signal.done():
            signal.set_result(None)

    # -- the task: the stream's transport, run by the pipeline ------------------

    async def run(
        self,
        client: Any,
        spec: Any,
        subject: str,
        payload: bytes,
        headers: dict[str, str] | None,
        deadline: float,
        explicit: bool,
    ) -> None:
        """Open the stream, then keep it alive until it ends; raise its error.

        ``deadline`` bounds the wait for the handler to open it. A deadline of
        the call being served (a nested call) bounds the whole stream.
        """
        inbox = await self._inbox_of()
        outer = _current.get()
        whole = outer[2] if outer is not None else None
        token: str | None = None
        delay = retry.FIRST
        try:
            while True:
                token, reply_to = inbox.route(self.on_message)
                sent = dict(headers) if headers else {}
                sent[wire.CREDIT_HEADER] = str(self.window)
                sent[wire.CREDIT_BYTES_HEADER] = str(self.window_bytes)
                if whole is not None:
                    sent[wire.TIMEOUT_HEADER] = wire.timeout_header(whole - _now())
                self._granting(self.window, self.window_bytes)
                self.heard = self.told = _now()
                await self._nc.publish(subject, payload, reply=reply_to, headers=sent)
                while not self.opened and self.outcome is None:
                    if _now() >= deadline:
                        raise TimeoutError(
                            f"{self.label}: the stream did not open within the deadline"
                        )
                    await self._pause(deadline)
                if self.opened:
                    break
                error = self.outcome
                if not isinstance(error, OverloadedError):
                    raise _as_error(error)
                # Shed before it started: retry with backoff within the deadline.
                inbox.unroute(token)
                token = None
                delay = await retry.after_shed(error, delay, deadline)
                self.outcome = None
            forever = float("inf")
            while True:
                outcome = self.outcome
                if outcome is _END:
                    return
                if outcome is not None:
                    raise _as_error(outcome)
                now = _now()
                if now - self.heard >= wire.PEER_TIMEOUT:
                    raise TimeoutError(
                        f"{self.label}: the handler went silent (nothing for "
                        f"{wire.PEER_TIMEOUT:g} s; did it stop?)"
                    )
                if whole is not None and now >= whole:
                    raise TimeoutError(
                        f"{self.label}: the deadline of the call being served passed"
                    )
                if now - self.told >= _QUIET and self.control is not None:
                    await self._send(self.control, wire.STREAM_CREDIT)  # a heartbeat
                await self._pause(forever if whole is None else whole)
        except BaseException:
            if self.control is not None and not self.by_handler:
                with contextlib.suppress(Exception):
                    await self._send(self.control, wire.STREAM_CANCEL)
            raise
        finally:
            if token is not None:
                inbox.unroute(token)

    async def _pause(self, until: float) -> None:
        """Until a message changes the stream's state, a tick passes or ``until``."""
        loop = self.loop
        assert loop is not None
        signal = self.signal = loop.create_future()
        timer = loop.call_later(min(_TICK, max(until - _now(), 0.0)), _wake, signal)
        try:
            await signal
        finally:
            timer.cancel()
            self.signal = None

    async def _send(self, control: str, kind: str) -> None:
        """Credit (with the total granted) or cancel, to the handler."""
        headers = {wire.STREAM_HEADER: kind}
        if kind == wire.STREAM_CREDIT:
            headers[wire.CREDIT_HEADER] = str(self.granted)
            headers[wire.CREDIT_BYTES_HEADER] = str(self.granted_bytes)
        self.told = _now()
        try:
            await self._nc.publish(control, b"", headers=headers)
        except nats.errors.Error as exc:
            raise nats_error(exc) from None


def _as_error(outcome: object) -> BaseException:
    assert isinstance(outcome, BaseException)
    return outcome


def _wake(signal: asyncio.Future[None]) -> None:
    if not signal.done():
        signal.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("no item within the deadline"))


class Stream(AsyncGenerator[T, None]):
    """What a stream method returns: an async iterator of its items that is
    also an async context manager::

        async for event in users.watch():          # or
        async with users.watch() as events:        # closed on leaving the block
            async for event in events: ...

    The stream opens on first use. Each item is waited for at most the
    method's timeout; a declared error raised by the handler's generator
    arrives after the items sent before it, as the same class. Leaving early
    (``break``, an exception, :meth:`aclose`, the caller's task cancelled)
    stops the handler's generator; ``async with`` (or ``aclose()``) does so
    at once, a dropped stream when it is garbage collected.
    """

    __slots__ = ("_receiver",)

    def __init__(self, receiver: Receiver[T]) -> None:
        self._receiver = receiver

    def __aiter__(self) -> Stream[T]:
        return self

    def __anext__(self) -> Coroutine[Any, Any, T]:
        # Not ``async def``: the receiver's coroutine is the item's, one level less.
        return self._receiver.next()

    def asend(self, value: None, /) -> Coroutine[Any, Any, T]:
        """The next item, as ``__anext__``; a stream takes no values (only None)."""
        if value is not None:
            raise TypeError("a stream takes no values: send None, or use anext()")
        return self._receiver.next()

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None, /) -> T:
        """Close the stream, then raise the given exception here."""
        await self.aclose()
        if isinstance(typ, BaseException):
            raise typ
        raise typ(*(() if val is None else (val,)))

    async def aclose(self) -> None:
        """Stop the stream; the handler's generator stops. Idempotent."""
        await self._receiver.close()

    async def __aenter__(self) -> Stream[T]:
        self._receiver.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # The task holds the receiver, never this object: dropping the stream
        # (a ``break`` out of ``async for``) reaches here and stops it.
        self._receiver.abandon()


def open_raw(
    nc: nats.aio.client.Client,
    subject: str,
    payload: bytes,
    *,
    timeout: float,
    error_of: Callable[[dict[str, str], bytes], Exception | None],
    window: int = DEFAULT_WINDOW,
    window_bytes: int = DEFAULT_WINDOW_BYTES,
) -> Stream[bytes]:
    """A stream of the raw item bodies of the method at ``subject``, without
    a generated client (``autonats call``). nats-py's errors are not translated."""

    async def inbox() -> Inbox:
        return await inbox_for(nc)

    def launch(run: Run) -> Coroutine[Any, Any, None]:
        return run(None, None, subject, payload, None, _now() + timeout, False)

    receiver: Receiver[bytes] = Receiver(
        nc,
        inbox,
        launch,
        bytes,
        error_of,
        label=subject,
        timeout=timeout,
        window=window,
        window_bytes=window_bytes,
    )
    return Stream(receiver)
