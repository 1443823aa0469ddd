"""Blocking calls for code that is not async: nats-py on an event-loop thread.

:func:`connect` starts one thread running an event loop and connects
nats-py on it; the :class:`Connection` it returns runs coroutines there for
any thread (:meth:`Connection.run`). A generated ``<Name>SyncClient`` is a
:class:`SyncServiceClient`: the async client's call objects, each call run
on that thread and waited for, so its deadline, retries and errors are
exactly the async client's. A stream becomes a plain iterator
(:class:`SyncStream`) that fetches what has arrived in batches.

The calling thread's context (its trace, the deadline of a call it serves)
travels with each call. A blocking call from a thread that runs an event
loop is refused: it would stall that loop, or deadlock the connection's own.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import sys
import threading
import weakref
from collections.abc import Coroutine, Iterator
from types import TracebackType
from typing import Any, ClassVar, Generic, TypeVar

import nats
import nats.aio.client
import nats.errors
from autonats._translate import nats_error
from autonats.contract import wire
from autonats.contract.spec import ServiceSpec
from autonats.errors import ConnectionError
from autonats.observe import tracing as tracing_
from autonats.runtime.client import BreakerSetting, Call, Client, Publish, StreamCall
from autonats.runtime.connect import connect as connect_async
from autonats.runtime.stream import DEFAULT_WINDOW, DEFAULT_WINDOW_BYTES, Stream

__all__ = [
    "Connection",
    "SyncCall",
    "SyncServiceClient",
    "SyncStream",
    "SyncStreamCall",
    "connect",
]

T = TypeVar("T")
R = TypeVar("R")

#: How long closing a connection waits for its calls to end and its writes to go out.
CLOSE_TIMEOUT = 5.0


def _refuse_in_loop(what: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"autonats.sync: {what} would block the event loop running in this "
        "thread; in async code use the async client (e.g. UserClient) and "
        "await it, or run the blocking call in a worker thread "
        "(await asyncio.to_thread(...))"
    )


class Connection:
    """A NATS connection whose event loop runs in a thread of its own.

    Made by :func:`connect`. Safe to use from any number of threads at once;
    :meth:`close` it (or use it as a context manager) when done.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        nc: nats.aio.client.Client,
    ) -> None:
        self._loop = loop
        self._thread = thread
        self._nc = nc
        self._closed = False
        self._lock = threading.Lock()
        self._calls: set[asyncio.Task[Any]] = set()  # touched on the loop only
        self._streams: weakref.WeakSet[SyncStream[Any]] = weakref.WeakSet()
        # A connection dropped without close() still stops its thread.
        self._finalizer = weakref.finalize(self, _stop, loop, nc)

    @property
    def nc(self) -> nats.aio.client.Client:
        """The nats-py connection; use it only from coroutines given to :meth:`run`."""
        return self._nc

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the connection runs on."""
        return self._loop

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the connection's event loop and return its result
        (or raise its error); the calling thread's context goes with it.

        Raises ``RuntimeError`` when called from a thread running an event
        loop, :class:`autonats.ConnectionError` once the connection is closed.
        """
        try:
            _refuse_in_loop("a blocking call")
            if self._closed:
                raise ConnectionError("the autonats.sync connection is closed")
            job = _Job(coro, self._loop, self._calls)
            self._loop.call_soon_threadsafe(job.start)
        except BaseException as exc:
            coro.close()
            if isinstance(exc, RuntimeError) and self._loop.is_closed():
                raise ConnectionError(
                    "the autonats.sync connection is closed"
                ) from None
            raise
        try:
            job.lock.acquire()
        except BaseException:
            # Interrupted (KeyboardInterrupt): the call must not run on unseen.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(job.cancel)
            raise
        if job.error is not None:
            raise job.error
        if job.cancelled:
            raise ConnectionError(
                "the autonats.sync connection was closed during the call"
            )
        return job.result  # type: ignore[no-any-return]

    def close(self) -> None:
        """Cancel the calls in flight (they raise ConnectionError), stop the
        open streams (their handlers are told), flush and close the NATS
        connection, and stop the thread. Idempotent."""
        _refuse_in_loop("closing an autonats.sync connection")
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer.detach()
        streams = list(self._streams)
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def begin() -> None:
            task = self._loop.create_task(self._shutdown(streams))
            task.add_done_callback(lambda t: _settle(t, done))

        try:
            self._loop.call_soon_threadsafe(begin)
            done.result(CLOSE_TIMEOUT * 3)
        except (RuntimeError, concurrent.futures.TimeoutError):
            pass  # the loop is gone or hangs: stop it all the same
        except Exception:
            pass  # closing the NATS connection failed: it is closed anyway
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT)

    async def _shutdown(self, streams: list[SyncStream[Any]]) -> None:
        tasks = set(self._calls)
        for stream in streams:
            task = stream._receiver.task
            if task is not None:
                tasks.add(task)
        for task in tasks:
            task.cancel()  # a stream's task tells its handler on the way out
        if tasks:
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT)
        with contextlib.suppress(nats.errors.Error, asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self._nc.drain(), CLOSE_TIMEOUT)
        if not self._nc.is_closed:
            await self._nc.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Job:
    """One coroutine run for a waiting thread: started on the loop in the
    thread's context; ``lock`` is released when it is done.

    A bare lock is the cheapest way to wake a thread in CPython, and the
    thread is woken from the task's last step, not from a done callback one
    loop turn later; on Python 3.12+ the task also starts at once (eagerly)
    instead of on the next turn. What is left is two thread switches per
    blocking call.
    """

    __slots__ = (
        "calls",
        "cancelled",
        "context",
        "coro",
        "error",
        "lock",
        "loop",
        "result",
        "settled",
        "task",
    )

    def __init__(
        self,
        coro: Coroutine[Any, Any, Any],
        loop: asyncio.AbstractEventLoop,
        calls: set[Any],
    ) -> None:
        self.coro = coro
        self.loop = loop
        self.calls = calls
        self.context = contextvars.copy_context()
        self.lock = threading.Lock()
        self.lock.acquire()
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancelled = False
        self.settled = False
        self.task: asyncio.Task[Any] | None = None

    def start(self) -> None:
        if sys.version_info >= (3, 12):  # up to its first wait, now
            task = asyncio.Task(
                self._run(), loop=self.loop, context=self.context, eager_start=True
            )
        else:
            task = self.context.run(self.loop.create_task, self._run())
        self.task = task
        if not task.done():
            self.calls.add(task)
            task.add_done_callback(self.done)

    async def _run(self) -> None:
        try:
            self.result = await self.coro
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        except BaseException as exc:  # for the waiting thread to raise
            self.error = exc
        finally:
            self.settled = True
            self.lock.release()

    def done(self, task: asyncio.Task[Any]) -> None:
        self.calls.discard(task)
        if not self.settled:  # cancelled before its first step: _run never ran
            self.coro.close()
            self.cancelled = True
            self.settled = True
            self.lock.release()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
        else:  # not started: it never will be
            self.coro.close()


def _settle(task: asyncio.Task[None], future: concurrent.futures.Future[None]) -> None:
    if task.cancelled():
        future.cancel()
    elif (error := task.exception()) is not None:
        future.set_exception(error)
    else:
        future.set_result(None)


def _stop(loop: asyncio.AbstractEventLoop, nc: nats.aio.client.Client) -> None:
    """Stop a connection's loop (it was dropped without close(), or closed)."""

    async def close() -> None:
        try:
            await nc.close()
        finally:
            loop.stop()

    with contextlib.suppress(RuntimeError):  # the loop is closed already
        loop.call_soon_threadsafe(lambda: loop.create_task(close()))


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(
                    asyncio.gather(*pending, return_exceptions=True)
                )
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def connect(
    servers: str | list[str] | None = None,
    *,
    context: str | None = None,
    **options: Any,
) -> Connection:
    """Connect to NATS for blocking calls: the connection runs nats-py on an
    event loop in a background thread.

    ``servers``, ``context`` and ``options`` are those of
    :func:`autonats.connect`: the ``nats`` CLI's settings (credentials, nkeys,
    tokens, TLS, contexts, ``$NATS_URL`` and the other variables), and any
    other ``nats.connect`` option (callbacks run on the connection's thread).
    Raises :class:`autonats.ConnectionError` as :func:`autonats.connect` does
    (refused, unreachable, a bad file), ``RuntimeError`` when called from a
    thread running an event loop (use :func:`autonats.connect` there).
    """
    _refuse_in_loop("autonats.sync.connect()")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=_run_loop, args=(loop,), name="autonats-sync", daemon=True
    )
    thread.start()
    try:
        nc = asyncio.run_coroutine_threadsafe(
            connect_async(servers, context=context, **options), loop
        ).result()
    except BaseException as exc:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CLOSE_TIMEOUT)
        if isinstance(exc, nats.errors.Error):
            raise nats_error(exc) from None
        if isinstance(exc, OSError | asyncio.TimeoutError):
            raise ConnectionError(f"cannot connect to NATS: {exc}") from None
        raise
    return Connection(loop, thread, nc)


class SyncCall(Generic[R]):
    """One method of a :class:`SyncServiceClient`: ``call(*args)`` blocks for the result."""

    __slots__ = ("_call", "_conn")

    def __init__(self, conn: Connection, call: Call[R]) -> None:
        self._conn = conn
        self._call = call

    def __call__(self, *args: Any) -> R:
        return self._conn.run(self._call(*args))


class SyncStream(Iterator[T]):
    """What a stream method of a :class:`SyncServiceClient` returns: a plain
    iterator of its items, also a context manager; :meth:`close` stops it.

    Items are fetched from the connection's thread in batches of what has
    arrived (at most half a window): one thread switch per batch, not per item.
    Dropping it unfinished stops the handler's generator too. Like any
    iterator, read it from one thread at a time.
    """

    def __init__(self, conn: Connection, stream: Stream[T]) -> None:
        self._conn = conn
        self._stream = stream  # dropping this object drops the stream: it stops
        self._receiver = stream._receiver
        self._buffer: collections.deque[T] = collections.deque()
        self._batch = max(self._receiver.window // 2, 1)
        conn._streams.add(self)

    def __iter__(self) -> SyncStream[T]:
        return self

    def __next__(self) -> T:
        buffer = self._buffer
        if not buffer:
            try:
                buffer.extend(self._conn.run(self._receiver.batch(self._batch)))
            except StopAsyncIteration:
                raise StopIteration from None
        return buffer.popleft()

    def close(self) -> None:
        """Stop the stream; the handler's generator stops. Idempotent."""
        self._buffer.clear()
        if self._conn.closed:
            self._receiver.abandon()
            return
        self._conn.run(self._receiver.close())

    def __enter__(self) -> SyncStream[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SyncStreamCall(Generic[R]):
    """One stream method of a :class:`SyncServiceClient`: ``call(*args)``
    returns a :class:`SyncStream`, opened on first use."""

    __slots__ = ("_call", "_conn")

    def __init__(self, conn: Connection, call: StreamCall[R]) -> None:
        self._conn = conn
        self._call = call

    def __call__(self, *args: Any) -> SyncStream[R]:
        return SyncStream(self._conn, self._call(*args))


class SyncServiceClient:
    """Base of the generated ``<Name>SyncClient`` classes: blocking methods
    with the signatures of the Protocol's, over an ``autonats.sync`` connection.

    Options are those of the async client (``ServiceClient``).
    """

    _spec: ClassVar[ServiceSpec]
    _traced: ClassVar[bool] = False

    def __init__(
        self,
        conn: Connection,
        *,
        timeout: float | None = None,
        prefix: str = wire.DEFAULT_PREFIX,
        breaker: BreakerSetting = None,
        stream_window: int = DEFAULT_WINDOW,
        stream_window_bytes: int = DEFAULT_WINDOW_BYTES,
    ) -> None:
        if not isinstance(conn, Connection):
            raise TypeError(
                f"{type(self).__name__} takes an autonats.sync connection "
                f"(autonats.sync.connect()), not {type(conn).__name__}"
            )
        spec = self._spec
        client = Client(
            conn.nc,
            spec,
            timeout=timeout,
            prefix=prefix,
            tracing=tracing_.enabled() if self._traced else None,
            breaker=breaker,
            stream_window=stream_window,
            stream_window_bytes=stream_window_bytes,
        )
        self._client = client
        for name, method in spec.methods.items():
            call: Any
            if method.stream:
                call = SyncStreamCall(conn, StreamCall(client, name))
            else:
                kind = Publish if method.oneway else Call
                call = SyncCall(conn, kind(client, name))
            setattr(self, f"_call_{name}", call)
