"""Helpers of the fault tests: ``autonats serve`` processes, client
connections that ride reconnects, a steady load driver and a ledger that
accounts for every call it started."""

from __future__ import annotations

import asyncio
import collections
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import autonats
from support import ServeProcess, eventually, rss_mb

__all__ = [
    "FAULTS",
    "HANG",
    "RIDE_RECONNECTS",
    "SLACK",
    "Ledger",
    "ServeProcess",
    "Spawn",
    "eventually",
    "failing",
    "in_thread",
    "jobs_processed",
    "read_lines",
    "rss_mb",
    "steady",
]

FAULTS = Path(__file__).resolve().parent

# The test interfaces and their generated modules are imported as top-level
# modules, as a user's project would import its own.
if str(FAULTS) not in sys.path:
    sys.path.insert(0, str(FAULTS))

#: Extra time, past a call's deadline, that a call may take before it counts as
#: late: loose, because the two cores of CI are shared with other tests.
SLACK = 1.5
#: Past deadline + HANG a call is abandoned and counted as hung.
HANG = 10.0


def read_lines(folder: Path, kind: str) -> dict[int, list[list[str]]]:
    """The lines ``flt_impl`` wrote for ``kind``, split into words, by process id."""
    found: dict[int, list[list[str]]] = {}
    for path in folder.glob(f"{kind}-*.log"):
        pid = int(path.stem.rpartition("-")[2])
        lines = path.read_text().splitlines()
        # A process killed mid-write may leave one partial last line.
        found[pid] = [line.split() for line in lines if line]
    return found


def failing(n: int) -> bool:
    """Whether durable job ``n`` of the ten-thousand-call tests fails (1 in 100)."""
    return n % 100 == 0


def jobs_processed(folder: Path) -> list[tuple[int, str, int]]:
    """(pid, message id, n) of every durable job delivery the handlers recorded."""
    return [
        (pid, words[0], int(words[1]))
        for pid, lines in read_lines(folder, "job").items()
        for words in lines
        if len(words) == 2 and words[1].isdigit()
    ]


Spawn = Callable[..., ServeProcess]


#: The connection options the fault tests recommend (docs/operations.md).
RIDE_RECONNECTS: dict[str, Any] = {
    "max_reconnect_attempts": -1,
    "reconnect_time_wait": 0.25,
    "connect_timeout": 2,
    "pending_size": 8 * 1024 * 1024,
}


@dataclass
class Ledger:
    """Every call a test started: (kind, start, elapsed, outcome) with
    ``outcome`` "ok", the autonats error's class name, "hung" or "unexpected:<type>"."""

    deadline: float
    calls: list[tuple[str, float, float, str]] = field(default_factory=list)
    origin: float = 0.0

    async def run(self, kind: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one call, bounded by deadline + HANG, and record how it ended."""
        loop = asyncio.get_running_loop()
        if not self.origin:
            self.origin = loop.time()
        started = loop.time()
        result = None
        try:
            result = await asyncio.wait_for(call(), self.deadline + HANG)
            outcome = "ok"
        except autonats.AutonatsError as exc:
            outcome = type(exc).__name__
        except (asyncio.TimeoutError, TimeoutError):
            outcome = "hung"
        except Exception as exc:
            outcome = f"unexpected:{type(exc).__name__}:{exc}"
        self.calls.append((kind, started - self.origin, loop.time() - started, outcome))
        return result

    def mark(self) -> float:
        """Now, on the ledger's clock (seconds since its first call)."""
        return asyncio.get_running_loop().time() - self.origin

    def counts(self, kind: str | None = None) -> dict[str, int]:
        return dict(
            collections.Counter(
                o for k, _, _, o in self.calls if kind is None or k == kind
            )
        )

    def summary(self) -> str:
        kinds = sorted({k for k, _, _, _ in self.calls})
        late = max((e for _, _, e, _ in self.calls), default=0.0)
        parts = [f"{k}: {self.counts(k)}" for k in kinds]
        return (
            f"{len(self.calls)} calls; " + "; ".join(parts) + f"; slowest {late:.2f} s"
        )

    def check_accounted(self, started: int) -> None:
        """Every started call ended, with "ok" or an autonats error, within its deadline."""
        assert len(self.calls) == started, (len(self.calls), started)
        bad = [c for c in self.calls if c[3] == "hung" or c[3].startswith("unexpected")]
        assert not bad, f"{len(bad)} calls hung or failed oddly, e.g. {bad[:5]}"
        late = [c for c in self.calls if c[2] > self.deadline + SLACK]
        assert not late, f"{len(late)} calls past deadline + {SLACK} s: {late[:5]}"


async def steady(
    rate: float, duration: float, fire: Callable[[int], Awaitable[Any]]
) -> int:
    """Start ``fire(i)`` every ``1 / rate`` seconds for ``duration`` seconds; wait for
    them all; return how many were started."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = int(rate * duration)
    tasks = []
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(i)))
    await asyncio.gather(*tasks)
    return total


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking helper (starting or stopping a server) off the event loop."""
    return await asyncio.to_thread(func, *args, **kwargs)
