"""The client's circuit breaker for one method: closed -> open -> half-open -> closed.

:class:`autonats.Breaker` is what a declaration or a client asks for; a
:class:`CircuitBreaker` is its state machine, one per method of a client.
The client's pipeline asks it before sending (:meth:`CircuitBreaker.admit`,
only when it is not closed) and tells it how the call ended
(:meth:`~CircuitBreaker.succeeded`, :meth:`~CircuitBreaker.failed`).

The window is **time-based**: calls are counted in ten buckets spanning the
breaker's ``window`` seconds. A count-based window (the last N calls) would
mean a different span of time for every call rate: hours of stale history
for a method called once a minute, a few milliseconds of noise for one called
thousands of times a second. Counted in time, "half the calls of the last 10
seconds failed" means the same thing whatever the rate, and ``min_calls``
keeps a quiet method from opening on one or two failures.

Only failures that say the service is unhealthy count against it
(:func:`verdict`): a timeout, no responders, an overload that outlived the
client's retries, an internal (5xx) error. A declared error or a 400 is the
service answering; it counts as a success.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from autonats.contract.declare import Breaker
from autonats.errors import (
    CircuitOpenError,
    NoRespondersError,
    OverloadedError,
    RemoteError,
    ServiceError,
    TimeoutError,
)
from autonats.observe.stats import BreakerStats

__all__ = [
    "CLOSED",
    "FAILURE",
    "HALF_OPEN",
    "NEUTRAL",
    "OPEN",
    "SUCCESS",
    "CircuitBreaker",
    "verdict",
]

log = logging.getLogger("autonats.breaker")

#: States; ``CircuitBreaker.state`` is one of them. Closed is 0 so that the
#: pipeline's check of a closed breaker is a single truth test.
CLOSED, OPEN, HALF_OPEN = 0, 1, 2
STATE_NAMES = ("closed", "open", "half_open")

#: Buckets of the sliding window.
BUCKETS = 10

#: What an outcome says about the service's health (:func:`verdict`).
SUCCESS, FAILURE, NEUTRAL = "success", "failure", "neutral"


def verdict(error: BaseException) -> str:
    """Whether a call that raised ``error`` says the service is unhealthy.

    ``FAILURE``: a timeout (the deadline passed, or the handler answered 504),
    no responders, an overload that outlived the retries, an undeclared 5xx
    error. ``SUCCESS``: the service answered, with a declared error (a
    business answer, whatever its code) or an undeclared 4xx such as a 400
    (the caller's fault). ``NEUTRAL``: nothing about the service, e.g. the
    caller's own connection closed, the call cancelled, or a reply that does
    not match the declared types (two versions of the interface).
    """
    if isinstance(error, TimeoutError | NoRespondersError | OverloadedError):
        return FAILURE
    if isinstance(error, ServiceError):
        return SUCCESS
    if isinstance(error, RemoteError):
        return FAILURE if error.code >= 500 else SUCCESS
    return NEUTRAL


class CircuitBreaker:
    """The breaker of one method of one client; see :class:`autonats.Breaker`.

    ``state`` is read on every call: :data:`CLOSED` (0) lets it through
    without asking :meth:`admit`. A call admitted while closed carries ticket
    0; a probe admitted while half-open carries the number of that half-open
    period, so that a late answer of an older period is not taken for a probe.

    While closed, a success costs a comparison and an increment: the current
    bucket's count lives in ``_ok`` until the bucket ends (``_edge``), and
    totals are summed only when a failure asks for them.
    """

    __slots__ = (
        "_clock",
        "_edge",
        "_fail",
        "_fails",
        "_ok",
        "_oks",
        "_period",
        "_probes_ok",
        "_probes_out",
        "_slot",
        "_span",
        "_until",
        "config",
        "name",
        "state",
        "stats",
    )

    def __init__(
        self,
        config: Breaker,
        name: str,
        stats: BreakerStats | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        #: ``service.method``, for messages and logs.
        self.name = name
        self.stats = stats if stats is not None else BreakerStats()
        self.state = CLOSED
        self._clock = clock
        self._span = config.window / BUCKETS  # seconds per bucket
        # The current bucket: its counts, and when it ends. The ring holds the
        # BUCKETS - 1 buckets before it (slot ``_slot`` is the current one's).
        self._ok = 0
        self._fail = 0
        self._edge = 0.0
        self._slot = 0
        self._oks = [0] * BUCKETS
        self._fails = [0] * BUCKETS
        self._until = 0.0  # while open: when probes may start
        self._period = 0  # half-open periods so far; a probe's ticket
        self._probes_out = 0
        self._probes_ok = 0

    # -- before sending ------------------------------------------------------

    def admit(self) -> int:
        """A call's ticket, asked only when the breaker is not closed.

        Returns the half-open period's number when the call may go as a
        probe; raises :class:`~autonats.CircuitOpenError` when it may not.
        """
        if self.state == OPEN:
            now = self._clock()
            if now < self._until:
                raise CircuitOpenError(
                    f"{self.name}: the circuit breaker is open (recent calls failed); "
                    f"nothing was sent. Probes go through in {self._until - now:.2f} s",
                    retry_after=self._until - now,
                )
            self._half_open()
        if self._probes_out >= self.config.probes:
            raise CircuitOpenError(
                f"{self.name}: the circuit breaker is half-open and its "
                f"{self.config.probes} probe call(s) are under way; nothing was sent",
                retry_after=0.0,
            )
        self._probes_out += 1
        return self._period

    # -- after the outcome ---------------------------------------------------

    def succeeded(self, ticket: int, now: float) -> None:
        """A call admitted with ``ticket`` at ``now`` (the pipeline's clock
        reading when it started) got its result."""
        if ticket or self.state:
            self._probe_done(ticket, SUCCESS, None)
            return
        if now >= self._edge:
            self._advance(now)
        self._ok += 1

    def failed(self, ticket: int, error: BaseException) -> None:
        """A call admitted with ``ticket`` raised ``error``."""
        kind = verdict(error)
        if ticket or self.state:
            self._probe_done(ticket, kind, error)
            return
        if kind == NEUTRAL:
            return
        now = self._clock()
        if now >= self._edge:
            self._advance(now)
        if kind == SUCCESS:
            self._ok += 1
            return
        self._fail += 1
        calls, failures = self.window_counts
        config = self.config
        if calls >= config.min_calls and failures >= config.failure_rate * calls:
            log.warning(
                "%s: circuit breaker opened: %d of the %d calls of the last %g s "
                "failed (the last: %s); calls fail fast for %g s, then %d probe(s)",
                self.name,
                failures,
                calls,
                config.window,
                _describe(error),
                config.open_for,
                config.probes,
                extra={"breaker": self.name, "breaker_state": "open"},
            )
            self._open(now)

    @property
    def window_counts(self) -> tuple[int, int]:
        """(calls, failures) counted in the window, as of the last call."""
        # The current bucket's slot in the ring stays 0 until the bucket ends.
        failures = self._fail + sum(self._fails)
        calls = self._ok + sum(self._oks) + failures
        return calls, failures

    @property
    def state_name(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``."""
        return STATE_NAMES[self.state]

    # -- transitions ---------------------------------------------------------

    def _probe_done(self, ticket: int, kind: str, error: BaseException | None) -> None:
        """The outcome of a call made while the breaker was not closed, or of a
        call admitted while closed that ended after it opened (ignored: the
        breaker has already decided)."""
        if self.state != HALF_OPEN or ticket != self._period:
            return
        if kind == NEUTRAL:  # says nothing: another call may probe instead
            self._probes_out -= 1
            return
        if kind == FAILURE:
            log.warning(
                "%s: circuit breaker probe failed (%s); open again for %g s",
                self.name,
                _describe(error),
                self.config.open_for,
                extra={"breaker": self.name, "breaker_state": "open"},
            )
            self._open(self._clock())
            return
        self._probes_ok += 1
        if self._probes_ok >= self.config.probes:
            log.info(
                "%s: circuit breaker closed: %d probe call(s) succeeded",
                self.name,
                self._probes_ok,
                extra={"breaker": self.name, "breaker_state": "closed"},
            )
            self._reset()
            self.state = CLOSED
            self.stats.entered("closed")

    def _open(self, now: float) -> None:
        self._reset()
        self.state = OPEN
        self._until = now + self.config.open_for
        self.stats.entered("open")

    def _half_open(self) -> None:
        self.state = HALF_OPEN
        self._period += 1
        self._probes_out = 0
        self._probes_ok = 0
        self.stats.entered("half_open")
        log.info(
            "%s: circuit breaker half-open: letting %d probe call(s) through",
            self.name,
            self.config.probes,
            extra={"breaker": self.name, "breaker_state": "half_open"},
        )

    def _reset(self) -> None:
        """Forget the window: a closed breaker starts counting afresh."""
        self._oks = [0] * BUCKETS
        self._fails = [0] * BUCKETS
        self._ok = 0
        self._fail = 0
        self._edge = 0.0

    def _advance(self, now: float) -> None:
        """Close the current bucket and start the one ``now`` falls in, emptying
        the buckets that fell out of the window on the way."""
        span = self._span
        if now >= self._edge + self.config.window - span:  # a window or more passed
            self._oks = [0] * BUCKETS
            self._fails = [0] * BUCKETS
            gone = 0
        else:
            self._oks[self._slot] = self._ok
            self._fails[self._slot] = self._fail
            gone = int((now - self._edge) / span) + 1
        slot = self._slot
        for _ in range(gone):
            slot = (slot + 1) % BUCKETS
            self._oks[slot] = 0
            self._fails[slot] = 0
        self._slot = slot
        self._ok = 0
        self._fail = 0
        # Buckets are aligned on multiples of the span of the clock's reading.
        self._edge = (int(now / span) + 1) * span


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "none"
    text = str(error)
    name = type(error).__name__
    return f"{name}: {text}" if text else name
