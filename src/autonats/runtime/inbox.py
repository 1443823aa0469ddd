"""One reply inbox per connection: a wildcard subscription that routes every
reply to the call waiting for it.

Cheaper than ``nc.request()``, which pays for a NUID, random bytes, a done
callback and ``asyncio.wait_for`` on every call. Deadlines of the waiting calls
are swept by the loop's one :class:`~autonats.runtime.deadlines.Deadlines`.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Callable

import nats.aio.client
import nats.aio.msg
import nats.aio.subscription
from autonats import _denials
from autonats.errors import TimeoutError
from autonats.runtime import deadlines

__all__ = ["Inbox", "inbox_for"]


class Inbox:
    """Reply subjects ``<inbox>.<token>`` of one connection, and who waits on each.

    A token either resolves one future (a request's reply) or feeds a
    callback every message that arrives on it (a stream's items).
    """

    def __init__(self, nc: nats.aio.client.Client) -> None:
        # No reference to the connection: the registry below holds inboxes
        # strongly and must not keep their connections alive.
        self.prefix = nc.new_inbox() + "."
        self.waiting: dict[str, asyncio.Future[nats.aio.msg.Msg]] = {}
        self.routes: dict[str, Callable[[nats.aio.msg.Msg], None]] = {}
        self._tokens = itertools.count(1)
        # Weak: a subscription holds its connection (the connection holds it).
        self._sub: weakref.ref[nats.aio.subscription.Subscription] | None = None
        self._refused: weakref.ref[nats.aio.subscription.Subscription] | None = None
        self._deadlines: deadlines.Deadlines | None = None

    async def start(self, nc: nats.aio.client.Client) -> None:
        if self._sub is None:
            refused = self._refused() if self._refused is not None else None
            self._refused = None
            if refused is not None:
                await refused.unsubscribe()
            sub = await nc.subscribe(self.prefix + "*", cb=self._on_reply)
            self._sub = weakref.ref(sub)

    def refused(self, denial: _denials.Denial) -> None:
        """The server refused the inbox's subscription: no reply can arrive, so
        every waiting call fails now, and the next call subscribes again (the
        user's permissions may have changed by then)."""
        error = denial.error()
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(error)
        self._refused, self._sub = self._sub, None

    def expect(
        self, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> tuple[str, str, asyncio.Future[nats.aio.msg.Msg]]:
        """A token, its reply subject and the future its reply (or the deadline) resolves.

        The caller forgets the token with :meth:`done` once it has its answer.
        """
        token = format(next(self._tokens), "x")
        future: asyncio.Future[nats.aio.msg.Msg] = loop.create_future()
        self.waiting[token] = future
        sweeper = self._deadlines
        if sweeper is None:
            sweeper = self._deadlines = deadlines.for_loop(loop)
        sweeper.watch(future, deadline, _expire, future)
        return token, self.prefix + token, future

    def done(self, token: str, future: asyncio.Future[nats.aio.msg.Msg]) -> None:
        """Forget a token handed out by :meth:`expect`."""
        self.waiting.pop(token, None)
        if self._deadlines is not None:
            self._deadlines.forget(future)

    def route(self, on_message: Callable[[nats.aio.msg.Msg], None]) -> tuple[str, str]:
        """A token and reply subject whose every message goes to ``on_message``.

        Forget it with :meth:`unroute`.
        """
        token = format(next(self._tokens), "x")
        self.routes[token] = on_message
        return token, self.prefix + token

    def unroute(self, token: str) -> None:
        """Stop routing a token handed out by :meth:`route`."""
        self.routes.pop(token, None)

    async def _on_reply(self, msg: nats.aio.msg.Msg) -> None:
        token = msg.subject[len(self.prefix) :]
        future = self.waiting.pop(token, None)
        if future is not None:
            if not future.done():
                future.set_result(msg)
            return
        on_message = self.routes.get(token)
        if on_message is not None:
            on_message(msg)


def _expire(future: asyncio.Future[nats.aio.msg.Msg]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("no reply within the deadline"))


_inboxes: weakref.WeakKeyDictionary[nats.aio.client.Client, Inbox] = (
    weakref.WeakKeyDictionary()
)


async def inbox_for(nc: nats.aio.client.Client) -> Inbox:
    """The connection's inbox, subscribed."""
    inbox = _inboxes.get(nc)
    if inbox is None:
        inbox = _inboxes[nc] = Inbox(nc)
        subject = inbox.prefix + "*"
        _denials.guard(nc).listen(
            lambda d: d.operation == "subscribe" and d.subject == subject.lower(),
            inbox.refused,
        )
    await inbox.start(nc)
    return inbox
