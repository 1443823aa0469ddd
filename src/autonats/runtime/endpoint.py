"""One method being served: its implementation, concurrency slots, queue and counters."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

import nats.aio.msg
import nats.aio.subscription
from autonats.contract import codec
from autonats.contract.spec import MethodSpec
from autonats.observe.stats import EndpointStats
from nats.aio.subscription import (
    DEFAULT_SUB_PENDING_BYTES_LIMIT,
    DEFAULT_SUB_PENDING_MSGS_LIMIT,
)

__all__ = ["ONEWAY_QUEUE_BYTES", "ONEWAY_QUEUE_MESSAGES", "Endpoint"]

#: Oneway calls waiting for a slot, per method: nats-py's own slow-consumer
#: limits of a subscription. A oneway caller cannot retry, so its calls queue
#: this deep (in arrival order) before any is dropped.
ONEWAY_QUEUE_MESSAGES = DEFAULT_SUB_PENDING_MSGS_LIMIT
ONEWAY_QUEUE_BYTES = DEFAULT_SUB_PENDING_BYTES_LIMIT


class Endpoint:
    """One method being served. ``stats.in_flight`` counts the slots taken.

    The handler invokes the implementation as ``impl(*values)`` when
    ``direct``, else through ``invoke(msg, values)``: by keyword where the
    signature needs it, or, for a stream, the stream's whole life. ``settle``
    is the settle step of a message that arrived on ``sub`` (None: reply on
    its reply subject).
    """

    __slots__ = (
        "claimed",
        "direct",
        "dropped_logged_at",
        "dropped_unlogged",
        "impl",
        "invoke",
        "limit",
        "pending",
        "pending_bytes",
        "queue_size",
        "settle",
        "slot_freed",
        "spec",
        "stats",
        "sub",
    )

    def __init__(
        self,
        spec: MethodSpec,
        impl: Callable[..., Awaitable[Any]],
        limit: int,
        queue_size: int,
    ) -> None:
        self.spec = spec
        self.impl = impl
        self.direct = spec.by_position
        self.invoke: Callable[[nats.aio.msg.Msg, tuple[Any, ...]], Awaitable[Any]] = (
            self._call_with
        )
        self.settle: Any = None  # a handler.Settle, or None
        self.limit = limit
        self.queue_size = queue_size
        self.stats = EndpointStats(concurrency=limit)
        #: Messages waiting for a slot, with their arrival time, oldest first.
        self.pending: collections.deque[tuple[nats.aio.msg.Msg, float]] = (
            collections.deque()
        )
        self.pending_bytes = 0
        #: Queued messages that a task started for them will take (not waiting).
        self.claimed = 0
        self.sub: nats.aio.subscription.Subscription | None = None
        #: Set whenever a slot frees and nothing queued takes it.
        self.slot_freed = asyncio.Event()
        self.dropped_unlogged = 0
        self.dropped_logged_at = float("-inf")

    def _call_with(self, msg: nats.aio.msg.Msg, values: tuple[Any, ...]) -> Any:
        # Not ``async def``: the implementation's coroutine is the call's.
        return codec.call_with(self.impl, values, self.spec.params)

    def has_room(self, msg: nats.aio.msg.Msg) -> bool:
        """Whether ``msg`` may wait in the queue: a request within ``queue_size``,
        a oneway call (no reply subject) within the oneway bounds."""
        waiting = len(self.pending) - self.claimed
        if msg.reply:
            return waiting < self.queue_size
        return (
            waiting < ONEWAY_QUEUE_MESSAGES and self.pending_bytes < ONEWAY_QUEUE_BYTES
        )
