"""Counters kept by every client and handler, per method.

They cost a few integer increments per call, so they are always on. The
``$SRV.STATS`` responder and the Prometheus collector only read them.
"""

from __future__ import annotations

import bisect
import weakref
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LATENCY_BUCKETS",
    "BreakerStats",
    "ClientStats",
    "EndpointStats",
    "Latency",
    "OutlierStats",
    "live_clients",
    "live_handlers",
]

#: Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_BOUNDS_NS = tuple(int(b * 1e9) for b in LATENCY_BUCKETS)
_bisect = bisect.bisect_left


@dataclass
class Latency:
    """A histogram of durations: ``counts[i]`` calls took at most ``LATENCY_BUCKETS[i]``
    (and more than the bucket before); the last count is for longer calls."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    sum_ns: int = 0

    def observe(self, ns: int) -> None:
        """Record one duration in nanoseconds."""
        self.counts[bisect.bisect_left(_BOUNDS_NS, ns)] += 1
        self.sum_ns += ns


@dataclass
class OutlierStats:
    """Outlier ejection of one method on one handler (``autonats.runtime.outlier``).

    ``state`` is ``"serving"`` (in the queue group), ``"stepping_out"`` (it has
    decided to leave and is checking its peers once more) or ``"ejected"`` (out
    of the queue group until ``rejoin_at``, a ``time.monotonic()`` reading).
    ``requests`` and ``failures`` are the calls it finished and the internal
    failures (500, 504) among them over the last ``window`` seconds.
    ``ejections`` counts the times it stepped out since it started.
    """

    window: float
    state: str = "serving"
    requests: int = 0
    failures: int = 0
    ejections: int = 0
    rejoin_at: float = 0.0


@dataclass
class EndpointStats:
    """Counters of one method on one handler.

    ``num_requests``, ``num_errors``, ``last_error`` and ``processing_time``
    are the NATS Services API (ADR-32) endpoint stats; they count requests the
    handler started. ``outcomes`` counts those by reply code (``"ok"`` or the
    error code as a string), ``capacity`` is the number of free concurrency
    slots. Requests refused without starting are counted apart: ``shed``
    (answered 503 at once) and ``dropped`` (oneway calls past the queue's
    bound, which have nobody to answer). ``internal_errors`` counts the
    finished requests that failed by the handler's fault: an undeclared
    exception (500) or a missed deadline (504). ``outlier`` is None when the
    method cannot step out of its queue group (durable, or ejection off).
    """

    concurrency: int = 0
    num_requests: int = 0
    num_errors: int = 0
    last_error: str = ""
    processing_time: int = 0  # nanoseconds, summed over finished calls
    in_flight: int = 0
    queued: int = 0
    shed: int = 0
    dropped: int = 0
    internal_errors: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    latency: Latency = field(default_factory=Latency)
    outlier: OutlierStats | None = None

    @property
    def average_processing_time(self) -> int:
        """Mean nanoseconds per finished call."""
        return self.processing_time // self.num_requests if self.num_requests else 0

    @property
    def capacity(self) -> int:
        """Free concurrency slots (what an autoscaler should watch: few means busy)."""
        return max(self.concurrency - self.in_flight, 0)

    def finished(self, duration_ns: int, code: int, message: str) -> None:
        """Record a finished request; ``code`` 0 means success."""
        self.num_requests += 1
        self.processing_time += duration_ns
        latency = self.latency  # Latency.observe, inlined: it runs on every call
        latency.counts[_bisect(_BOUNDS_NS, duration_ns)] += 1
        latency.sum_ns += duration_ns
        key = str(code) if code else "ok"
        outcomes = self.outcomes
        outcomes[key] = outcomes.get(key, 0) + 1
        if code:
            self.num_errors += 1
            self.last_error = f"{code}:{message}"

    def refused(self, message: str, *, oneway: bool) -> None:
        """Record a request refused before it started: shed (answered 503), or,
        for a oneway call, dropped. Never a latency sample."""
        if oneway:
            self.dropped += 1
        else:
            self.shed += 1
        self.last_error = f"503:{message}"


@dataclass
class BreakerStats:
    """The circuit breaker of one method on one client (``autonats.runtime.breaker``).

    ``state`` is ``"closed"``, ``"open"`` or ``"half_open"``; ``transitions``
    counts the changes by the state entered.
    """

    state: str = "closed"
    transitions: dict[str, int] = field(default_factory=dict)

    def entered(self, state: str) -> None:
        """Record a change of state."""
        self.state = state
        self.transitions[state] = self.transitions.get(state, 0) + 1


@dataclass
class ClientStats:
    """Counters of one method on one client: calls by outcome and their latency.

    Outcomes are ``"ok"``, an error code as a string (``"404"``, ``"503"``),
    ``"timeout"``, ``"no_responders"``, ``"circuit_open"`` (refused by the
    breaker, not sent) or ``"error"`` (connection, encoding). ``breaker`` is
    None when the method has no circuit breaker.
    """

    in_flight: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    latency: Latency = field(default_factory=Latency)
    breaker: BreakerStats | None = None

    def finished(self, duration_ns: int, outcome: str) -> None:
        """Record a finished call."""
        outcomes = self.outcomes
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        latency = self.latency  # Latency.observe, inlined: it runs on every call
        latency.counts[_bisect(_BOUNDS_NS, duration_ns)] += 1
        latency.sum_ns += duration_ns


#: Every live client and every running handler of the process register
#: themselves here; the Prometheus collector reads them at scrape time.
live_clients: weakref.WeakSet[Any] = weakref.WeakSet()
live_handlers: weakref.WeakSet[Any] = weakref.WeakSet()
