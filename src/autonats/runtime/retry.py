"""Sending a shed call again: jittered exponential backoff within its deadline.

A handler sheds a call it never started with a 503 ``Overloaded`` reply
(docs/protocol.md); request/reply calls and streams being opened send it again
after a pause, from ``wire.RETRY_FIRST`` doubling to ``wire.RETRY_MAX``, each
pause drawn between half and one and a half times the delay so that shed
callers do not come back in step.
"""

from __future__ import annotations

import asyncio
import random
import time

from autonats.contract import wire
from autonats.errors import OverloadedError

__all__ = ["FIRST", "after_shed"]

FIRST = wire.RETRY_FIRST


async def after_shed(error: OverloadedError, delay: float, deadline: float) -> float:
    """Wait before sending a shed call again; return the next delay.

    Raises ``error`` when the pause would reach ``deadline`` (``time.monotonic``).
    """
    pause = min(delay * (0.5 + random.random()), deadline - time.monotonic())
    if pause <= 0:
        raise error
    await asyncio.sleep(pause)
    if time.monotonic() >= deadline:
        raise error
    return min(delay * 2, wire.RETRY_MAX)
