"""Permission denials: nats-server's asynchronous refusals, pinned on the call that caused them.

nats-server answers a publish or subscribe the user may not make with
``-ERR 'Permissions Violation for Publish to "<subject>"'`` (or ``for
Subscription to``), keeps the connection open, and sends nothing else: a
request simply never gets a reply. nats-py hands the line, lower-cased, to
the connection's error callback. :func:`guard` wraps that callback once per
connection: a refusal that a waiting call (:meth:`Denials.watch`), a running
step (:meth:`Denials.race`) or a listener (:meth:`Denials.listen`) claims is
raised there as :class:`~autonats.PermissionDenied`; every other error, and a
refusal nobody claims, goes on to the callback the connection was made with.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import nats.aio.client
from autonats.errors import PermissionDenied

__all__ = ["Denial", "Denials", "guard", "parse", "subject_matches"]

T = TypeVar("T")

_VIOLATION = re.compile(
    r'permissions violation for (publish|subscription) to "([^"]*)"'
    r'(?: using queue "([^"]*)")?'
)


@dataclass(frozen=True)
class Denial:
    """One refusal as nats-server reported it (nats-py lower-cases the line)."""

    operation: str  # "publish" or "subscribe"
    subject: str
    queue: str = ""

    def error(self, subject: str | None = None) -> PermissionDenied:
        """The error to raise; ``subject`` is the subject with its real case, when known."""
        shown = subject or self.subject
        what = "publish to" if self.operation == "publish" else "subscribe to"
        queue = f" (queue {self.queue})" if self.queue else ""
        return PermissionDenied(
            f"permission denied: the NATS user may not {what} {shown}{queue} "
            "(autonats permissions prints what each role needs)",
            subject=shown,
            operation=self.operation,
        )


def parse(exc: BaseException) -> Denial | None:
    """The refusal an error callback's error reports, or None for any other error."""
    found = _VIOLATION.search(str(exc))
    if found is None:
        return None
    operation = "publish" if found.group(1) == "publish" else "subscribe"
    return Denial(operation, found.group(2), found.group(3) or "")


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether a NATS subject pattern (``*``, ``>``) covers ``subject``, ignoring case
    (the server's report is lower-cased)."""
    want = pattern.lower().split(".")
    have = subject.lower().split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


class Denials:
    """The refusals of one connection, routed to whoever claims them."""

    def __init__(self, forward: Callable[[Exception], Awaitable[None]]) -> None:
        self._forward = forward
        #: subject -> futures of the calls waiting for a reply to a publish there.
        self._waiting: dict[str, dict[asyncio.Future[Any], None]] = {}
        self._listeners: dict[
            int, tuple[Callable[[Denial], bool], Callable[[Denial], None]]
        ] = {}
        self._ids = 0

    def watch(self, subject: str, future: asyncio.Future[Any]) -> None:
        """Fail ``future`` with PermissionDenied if a publish to ``subject`` is refused.

        Forget it with :meth:`unwatch`. Per call, this costs two dict operations.
        """
        waiting = self._waiting.get(subject)
        if waiting is None:
            waiting = self._waiting[subject] = {}
        waiting[future] = None

    def unwatch(self, subject: str, future: asyncio.Future[Any]) -> None:
        """Forget a future given to :meth:`watch`."""
        waiting = self._waiting.get(subject)
        if waiting is not None:
            waiting.pop(future, None)

    def listen(
        self, matches: Callable[[Denial], bool], callback: Callable[[Denial], None]
    ) -> Callable[[], None]:
        """Call ``callback`` for every refusal ``matches`` accepts; returns the remover."""
        self._ids += 1
        key = self._ids
        self._listeners[key] = (matches, callback)

        def remove() -> None:
            self._listeners.pop(key, None)

        return remove

    async def race(self, work: Awaitable[T], matches: Callable[[Denial], bool]) -> T:
        """Await ``work``; if a refusal that ``matches`` accepts comes first, cancel it
        and raise PermissionDenied at once."""
        loop = asyncio.get_running_loop()
        denied: asyncio.Future[Denial] = loop.create_future()

        def on_denial(denial: Denial) -> None:
            if not denied.done():
                denied.set_result(denial)

        task = asyncio.ensure_future(work)
        remove = self.listen(matches, on_denial)
        try:
            await asyncio.wait((task, denied), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            remove()
        # nats-py reads a refusal before the reply or PONG that follows it, so a
        # refusal wins even when both are done.
        if denied.done():
            task.cancel()
            await asyncio.wait((task,))
            if not task.cancelled():
                task.exception()  # retrieved: it failed because of the refusal
            raise denied.result().error()
        denied.cancel()
        return task.result()

    async def _on_error(self, exc: Exception) -> None:
        denial = parse(exc)
        if denial is None or not self._claim(denial):
            await self._forward(exc)

    def _claim(self, denial: Denial) -> bool:
        claimed = False
        if denial.operation == "publish":
            for subject, waiting in self._waiting.items():
                if waiting and subject.lower() == denial.subject:
                    error = denial.error(subject)
                    for future in list(waiting):
                        if not future.done():
                            future.set_exception(error)
                            claimed = True
        for matches, callback in list(self._listeners.values()):
            if matches(denial):
                callback(denial)
                claimed = True
        return claimed


_guards: weakref.WeakKeyDictionary[nats.aio.client.Client, Denials] = (
    weakref.WeakKeyDictionary()
)


def guard(nc: nats.aio.client.Client) -> Denials:
    """The connection's :class:`Denials`, hooked into its error callback on first use.

    nats-py has no public way to add an error callback to a connection, so
    this wraps the one it keeps (``_error_cb``), forwarding everything not
    claimed here to it unchanged.
    """
    denials = _guards.get(nc)
    if denials is None:
        original: Callable[[Exception], Awaitable[None]] | None = nc._error_cb
        denials = _guards[nc] = Denials(original or _ignore)
        nc._error_cb = denials._on_error
    return denials


async def _ignore(exc: Exception) -> None:
    return None
