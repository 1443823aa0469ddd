"""Where a contender spends its time: pyinstrument over client and handler in one loop.

Both sides run in this process's one thread, so one profile holds the client's
and the handler's Python work. :func:`profile_contender` sums own time by area
(autonats' modules, nats-py, the asyncio loop, socket I/O, ...) so that raw
nats-py and autonats can be read side by side, and lists autonats' functions
by inclusive time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from benchmarks.contenders import by_name
from benchmarks.echo import make_item
from benchmarks.runner import Budget, parallel, sequential

__all__ = ["Profile", "profile_contender"]


@dataclass
class Profile:
    """Shares of sampled time (percent of the whole run)."""

    contender: str
    calls: int
    seconds: float
    areas: dict[str, float] = field(default_factory=dict)  # own time by area
    functions: dict[str, float] = field(default_factory=dict)  # autonats, inclusive


def profile_contender(
    url: str, name: str = "autonats", *, seconds: float = 2.0, inflight: int = 100
) -> Profile:
    """Profile ``seconds`` of 1-in-flight, then of ``inflight``-in-flight 100 B calls."""
    from pyinstrument import Profiler

    async def scenario() -> Profile:
        contender = by_name(name)(f"profile-{name}")
        address = await contender.serve(url)
        await contender.connect(url, address)
        item = make_item(100)
        request = contender.request(item)
        budget = Budget(seconds, None)
        try:
            # Warm the connections before the profiler starts.
            await sequential(contender, request, item, Budget(0.2, None), False)
            profiler = Profiler(interval=0.0002, async_mode="disabled")
            profiler.start()
            one = await sequential(contender, request, item, budget, False)
            many = await parallel(contender, request, item, budget, inflight, False)
            session = profiler.stop()
        finally:
            await contender.close()
            await contender.stop_serving()
        return _summarise(
            name, one.calls + many.calls, session.duration, session.root_frame()
        )

    return asyncio.run(scenario())


def _frames(frame: Any) -> Iterator[Any]:
    yield frame
    for child in frame.children:
        yield from _frames(child)


def _area(frame: Any, parent_area: str) -> str:
    path = (frame.file_path or "").replace("\\", "/")
    function = frame.function or ""
    if function.startswith(("socket.", "epoll.")) or "selectors.py" in path:
        return "socket and epoll (kernel)"
    if "/autonats/" in path:
        return "autonats " + path.rsplit("/", 1)[-1]
    if "/nats/" in path:
        return "nats-py"
    if "/asyncio/" in path:
        return "asyncio loop"
    if "/benchmarks/" in path:
        return "benchmark harness"
    if function.startswith(("Encoder.", "Decoder.")) or "/msgspec/" in path:
        return "msgspec"
    if not path or path.startswith("<"):
        return parent_area  # a builtin: count it where it was called
    return "other"


def _summarise(name: str, calls: int, duration: float, root: Any) -> Profile:
    profile = Profile(name, calls, duration)
    if root is None or not root.time:
        return profile
    total = root.time
    areas: dict[str, float] = {}
    functions: dict[str, float] = {}

    def visit(frame: Any, parent_area: str, seen: frozenset[str]) -> None:
        area = _area(frame, parent_area)
        own = frame.time - sum(c.time for c in frame.children)
        areas[area] = areas.get(area, 0.0) + own
        real = not (frame.function or "").startswith("[")
        if area.startswith("autonats ") and real and frame.identifier not in seen:
            label = f"{frame.function} ({area[9:]}:{frame.line_no})"
            functions[label] = functions.get(label, 0.0) + frame.time
            seen = seen | {frame.identifier}
        for child in frame.children:
            visit(child, area, seen)

    visit(root, "other", frozenset())
    profile.areas = {
        k: 100 * v / total for k, v in sorted(areas.items(), key=lambda kv: -kv[1])
    }
    profile.functions = {
        k: 100 * v / total
        for k, v in sorted(functions.items(), key=lambda kv: -kv[1])[:15]
    }
    return profile
