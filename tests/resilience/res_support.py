"""Handlers that fail on request, several instances on connections of their
own, and a bounded load of calls."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import autonats
import nats
import nats.aio.client
from autonats.runtime.outlier import OutlierEjection

from res_api import Refused
from res_api_nats import ResHandler

__all__ = ["FAST", "Impl", "drive", "instances", "outlier_state"]

#: Outlier ejection tuned so that the tests run in seconds: a 1 s window
#: checked every 0.1 s, 5 calls to judge an instance.
FAST = OutlierEjection(
    window=1.0, interval=0.1, min_requests=5, cooldown=1.0, max_cooldown=4.0
)


class Impl:
    """An implementation whose behaviour the test switches: ``"ok"``,
    ``"fail"`` (an undeclared exception: 500) or ``"refuse"`` (the declared
    :class:`Refused`, code 500)."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.calls = 0  # calls the implementation received

    async def _serve(self, n: int) -> int:
        self.calls += 1
        if self.mode == "fail":
            raise RuntimeError("broken instance")
        if self.mode == "refuse":
            raise Refused("refused", n=n)
        return n

    async def work(self, n: int) -> int:
        return await self._serve(n)

    async def guarded(self, n: int) -> int:
        return await self._serve(n)


@contextlib.asynccontextmanager
async def instances(
    url: str,
    prefix: str,
    impls: Sequence[Impl],
    outlier: OutlierEjection | bool = FAST,
) -> AsyncIterator[list[ResHandler]]:
    """One running handler per implementation, each on a connection of its own
    (as separate processes would be); all shut down afterwards."""
    async with contextlib.AsyncExitStack() as stack:
        handlers = []
        for impl in impls:
            nc = await nats.connect(url, max_reconnect_attempts=0)
            stack.push_async_callback(nc.close)
            handler = ResHandler(nc, impl, prefix=prefix, outlier=outlier)
            await handler.run()
            stack.push_async_callback(handler.shutdown)
            handlers.append(handler)
        for handler in handlers:  # every SUB is live before the first call
            await handler.nc.flush()
            await handler.nc.flush()
        yield handlers


def outlier_state(handler: ResHandler, method: str = "work") -> str:
    """``serving``, ``stepping_out`` or ``ejected``."""
    figures = handler.stats()[method].outlier
    assert figures is not None
    return figures.state


async def drive(
    call: Callable[[int], Awaitable[int]],
    *,
    until: Callable[[], bool] | None = None,
    calls: int = 10_000,
    seconds: float = 15.0,
    concurrency: int = 4,
    pace: float = 0.0,
) -> Counter[str]:
    """Make at most ``calls`` calls with ``concurrency`` callers, for at most
    ``seconds``, stopping early once ``until()`` holds; ``pace`` pauses each
    caller between calls. Returns the outcomes by name (``ok`` or the
    exception's class name)."""
    outcomes: Counter[str] = Counter()
    made = 0
    deadline = time.monotonic() + seconds

    def done() -> bool:
        return made >= calls or time.monotonic() >= deadline or bool(until and until())

    async def caller() -> None:
        nonlocal made
        while not done():
            made += 1
            try:
                await call(made)
                outcomes["ok"] += 1
            except autonats.AutonatsError as exc:
                outcomes[type(exc).__name__] += 1
            if pace:
                await asyncio.sleep(pace)
            else:
                await asyncio.sleep(0)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return outcomes
