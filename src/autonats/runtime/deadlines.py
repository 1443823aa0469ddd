"""Deadlines of every call in flight on an event loop, swept by one periodic timer.

A timer per call costs a heap push and a cancel on every call; one sweep every
:data:`TICK` seconds over the calls in flight costs almost nothing at the sizes
a process runs (hundreds), at the price of firing up to a tick late. Clients
(a reply that must arrive) and handlers (an implementation that must finish)
share the one sweeper of their loop.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["TICK", "Deadlines", "for_loop"]

#: How often deadlines are checked, in seconds.
TICK = 0.01


class Deadlines:
    """Calls ``expire(arg)`` for every watched key whose deadline has passed."""

    __slots__ = ("__weakref__", "_due", "_loop", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: dict[object, tuple[float, Callable[[Any], None], Any]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def watch(
        self,
        key: object,
        deadline: float,
        expire: Callable[[Any], None],
        arg: Any,
    ) -> None:
        """At ``deadline`` (``time.monotonic()``, the clock of asyncio's
        ``loop.time()``), unless forgotten first, call ``expire(arg)``."""
        self._due[key] = (deadline, expire, arg)
        if self._timer is None:
            self._timer = self._loop.call_later(TICK, self._sweep)

    def forget(self, key: object) -> None:
        """Stop watching ``key`` (nothing happens if it is not watched)."""
        self._due.pop(key, None)

    def __len__(self) -> int:
        return len(self._due)

    def _sweep(self) -> None:
        self._timer = None
        now = time.monotonic()
        expired = [key for key, entry in self._due.items() if entry[0] <= now]
        for key in expired:
            _, expire, arg = self._due.pop(key)
            expire(arg)
        if self._due:
            self._timer = self._loop.call_later(TICK, self._sweep)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def for_loop(loop: asyncio.AbstractEventLoop) -> Deadlines:
    """The one :class:`Deadlines` of ``loop``."""
    found = _per_loop.get(loop)
    if found is None:
        found = _per_loop[loop] = Deadlines(loop)
    return found
