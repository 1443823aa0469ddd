"""Outlier ejection: a handler instance that fails far more than its peers steps
out of a method's queue group for a while.

Queue groups balance blindly: one broken instance among five keeps taking a
fifth of the calls and failing them. Each handler runs one background
:class:`Ejector` (nothing is added to the per-call path; the counters it reads
are kept anyway). Every ``interval`` it measures, per method, its own
**internal failures** (undeclared exceptions answered 500, missed deadlines
answered 504) among the calls it finished over the last ``window``. When
that rate reaches ``failure_rate``, it reads its peers' rates from
``$SRV.STATS`` (the other instances in the same queue group, i.e. serving the
same subject, publish theirs in the endpoint's ``data.outlier``) and steps
out when all of these hold (:func:`decide`):

- its rate is at least ``margin`` above the pooled rate of its serving peers
  of the same service version that have ``min_requests`` calls of their own
  to compare with: when every instance fails alike, none steps out (the
  callers' circuit breakers are what helps then);
- fewer than :func:`allowed_out` instances of the queue group (whatever
  their version: they share its traffic) are out already: at most
  ``max_ejected`` of them (but one of three or more may always step out), and
  never the last one.

Stepping out drains the method's subscription (the server stops routing to
the instance; what it already holds is served and answered); the instance
stays in ``$SRV``, its STATS showing ``"ejected"``, and subscribes again
after a cool-down that doubles each time it is ejected again soon after (at
most ``max_cooldown``; it shrinks back by one step per window served well).

Instances decide alone, so two could decide at once. Each first announces
``"stepping_out"`` in its STATS, waits a random part of an interval, then asks
its peers again and counts every peer out or stepping out. Of two instances
deciding together at least one sees the other's announcement (each announces
before it asks), so they never both step out past the bound; when both see
each other both stay, and each waits a random one to four intervals before
trying again, so that next time one goes first. After stepping out it
checks once more (a reply can be lost) and steps back in at once if the
bound was overrun after all, the instance with the larger id yielding.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nats.aio.client
import nats.errors
from autonats.contract.spec import ServiceSpec
from autonats.errors import AutonatsError
from autonats.observe import discovery
from autonats.observe.stats import OutlierStats
from autonats.runtime.endpoint import Endpoint

__all__ = [
    "EJECTED",
    "SERVING",
    "STEPPING_OUT",
    "Decision",
    "Ejector",
    "OutlierEjection",
    "Peer",
    "allowed_out",
    "decide",
    "peers_of",
]

log = logging.getLogger("autonats.outlier")

#: States published in STATS (``data.outlier.state``).
SERVING, STEPPING_OUT, EJECTED = "serving", "stepping_out", "ejected"

#: How long a handler gathers its peers' STATS replies (see observe.discovery).
GATHER_TIMEOUT = 1.0
GATHER_QUIET = 0.2


@dataclass(frozen=True)
class OutlierEjection:
    """How a handler decides to step out of a method's queue group; on by default.

    Pass ``Handler(..., outlier=OutlierEjection(...))``, or ``outlier=False``
    to turn it off (``autonats serve --no-outlier-ejection``).

    - ``window`` (s): the span over which failure rates are measured; checked
      every ``interval`` seconds.
    - ``min_requests``: calls an instance must have finished in the window to
      be judged (and a peer to be compared with).
    - ``failure_rate``: the share of internal failures (500, 504) at which an
      instance looks at its peers at all.
    - ``margin``: how far above its peers' pooled rate it must be.
    - ``max_ejected``: the largest share of a method's instances out at once;
      one of three or more may always step out, the last one never.
    - ``cooldown`` (s): the first time out; doubled each time it is ejected
      again before a window of good service, at most ``max_cooldown``.
    """

    window: float = 10.0
    interval: float = 1.0
    min_requests: int = 10
    failure_rate: float = 0.5
    margin: float = 0.3
    max_ejected: float = 0.2
    cooldown: float = 10.0
    max_cooldown: float = 300.0

    def __post_init__(self) -> None:
        for name in ("window", "interval", "cooldown", "max_cooldown"):
            value = getattr(self, name)
            if not (_number(value) and 0 < value < math.inf):
                raise ValueError(
                    f"{name} must be a positive number of seconds, not {value!r}"
                )
        if self.interval > self.window:
            raise ValueError(
                f"interval ({self.interval} s) must not exceed window ({self.window} s)"
            )
        if self.cooldown > self.max_cooldown:
            raise ValueError(
                f"cooldown ({self.cooldown} s) must not exceed max_cooldown "
                f"({self.max_cooldown} s)"
            )
        if not (
            isinstance(self.min_requests, int)
            and not isinstance(self.min_requests, bool)
            and self.min_requests >= 1
        ):
            raise ValueError(
                f"min_requests must be an integer >= 1, not {self.min_requests!r}"
            )
        for name in ("failure_rate", "margin"):
            value = getattr(self, name)
            if not (_number(value) and 0 < value <= 1):
                raise ValueError(f"{name} must be a share in (0, 1], not {value!r}")
        if not (_number(self.max_ejected) and 0 <= self.max_ejected < 1):
            raise ValueError(
                f"max_ejected must be a share in [0, 1), not {self.max_ejected!r}"
            )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def allowed_out(instances: int, max_ejected: float) -> int:
    """How many of a method's ``instances`` may be out of its queue group at once:
    ``max_ejected`` of them, rounded down, but one of three or more always,
    and never all."""
    if instances < 2:
        return 0
    allowed = math.floor(instances * max_ejected + 1e-9)
    if instances >= 3:
        allowed = max(allowed, 1)
    return min(allowed, instances - 1)


@dataclass(frozen=True)
class Peer:
    """Another instance in the method's queue group, as its STATS shows it.

    ``state`` is ``""`` for an instance that publishes no outlier figures
    (another implementation): it counts as serving, with nothing to compare.
    Only peers of the ``same_version`` are compared with; all count towards
    the bound.
    """

    id: str
    state: str = ""
    requests: int = 0
    failures: int = 0
    same_version: bool = True


@dataclass(frozen=True)
class Decision:
    """What :func:`decide` found: ``step_out``, and why: ``rule`` names the
    rule that decided (``"min_requests"``, ``"failure_rate"``, ``"alone"``,
    ``"max_ejected"``, ``"no_peers"``, ``"alike"`` or ``"outlier"``), ``reason``
    says it in words, for logs."""

    step_out: bool
    rule: str
    reason: str
    rate: float = 0.0
    peer_rate: float = 0.0
    instances: int = 1
    out: int = 0
    allowed: int = 0


def decide(
    own_id: str,
    requests: int,
    failures: int,
    peers: Sequence[Peer],
    config: OutlierEjection,
) -> Decision:
    """Whether the instance ``own_id``, with ``failures`` internal failures among
    ``requests`` calls in its window, should step out, given its ``peers``."""
    if requests < config.min_requests:
        return Decision(False, "min_requests", f"only {requests} call(s) in the window")
    rate = failures / requests
    if rate < config.failure_rate:
        return Decision(False, "failure_rate", f"{rate:.0%} of calls failed", rate)
    instances = 1 + len(peers)
    if instances == 1:
        return Decision(False, "alone", "the only instance", rate)
    # Every peer announcing that it steps out counts: it may not have seen
    # this instance's announcement (see the module's docstring).
    out = sum(1 for p in peers if p.state in (EJECTED, STEPPING_OUT))
    allowed = allowed_out(instances, config.max_ejected)
    bounds = {"instances": instances, "out": out, "allowed": allowed}
    if out + 1 > allowed:
        return Decision(
            False,
            "max_ejected",
            f"{out} of {instances} instances are out already, at most {allowed} may be",
            rate,
            **bounds,
        )
    compared = [
        p
        for p in peers
        if p.same_version
        and p.state in (SERVING, STEPPING_OUT)
        and p.requests >= config.min_requests
    ]
    if not compared:
        return Decision(
            False,
            "no_peers",
            "no serving peer of its version has enough calls to compare with",
            rate,
            **bounds,
        )
    peer_rate = sum(p.failures for p in compared) / sum(p.requests for p in compared)
    if rate - peer_rate < config.margin:
        return Decision(
            False,
            "alike",
            f"its peers fail alike ({peer_rate:.0%} against {rate:.0%})",
            rate,
            peer_rate,
            **bounds,
        )
    return Decision(
        True,
        "outlier",
        f"{rate:.0%} of its {requests} calls in the last {config.window:g} s failed "
        f"internally, against {peer_rate:.0%} on {len(compared)} peer(s)",
        rate,
        peer_rate,
        **bounds,
    )


def peers_of(
    replies: Iterable[Any], own_id: str, version: str, method: str, subject: str
) -> list[Peer]:
    """The instances among STATS ``replies`` (``StatsResponse``) that serve
    ``subject`` as method ``method``, but ``own_id``; those of another
    ``version`` marked so."""
    peers = []
    for reply in replies:
        if reply.id == own_id:
            continue
        same = reply.version == version
        for endpoint in reply.endpoints:
            if endpoint.subject != subject or endpoint.name != method:
                continue
            data = endpoint.data
            figures = data.get("outlier") if isinstance(data, Mapping) else None
            if not isinstance(figures, Mapping):
                peers.append(Peer(reply.id, same_version=same))
                break
            peers.append(
                Peer(
                    reply.id,
                    _text(figures.get("state")),
                    _count(figures.get("requests")),
                    _count(figures.get("failures")),
                    same,
                )
            )
            break
    return peers


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class _Track:
    """One method the ejector watches."""

    def __init__(self, ep: Endpoint, stats: OutlierStats) -> None:
        self.ep = ep
        self.stats = stats
        #: (time, requests, internal failures) at each check, oldest first.
        self.samples: collections.deque[tuple[float, int, int]] = collections.deque()
        self.streak = 0  # ejections in a row: the cool-down's doubling
        self.since = 0.0  # when the streak last changed (or the method rejoined)
        self.said = ""  # the rule last logged for staying in
        self.retry_at = 0.0  # after giving way to a peer stepping out: not before


class Ejector:
    """The background task of one handler: checks its methods every interval.

    ``subscribe(ep)`` subscribes a method again in its queue group (the
    handler's own way of doing it).
    """

    def __init__(
        self,
        nc: nats.aio.client.Client,
        spec: ServiceSpec,
        prefix: str,
        instance_id: str,
        endpoints: Iterable[Endpoint],
        subscribe: Callable[[Endpoint], Awaitable[None]],
        config: OutlierEjection,
    ) -> None:
        self.nc = nc
        self.spec = spec
        self.prefix = prefix
        self.id = instance_id
        self.config = config
        self._subscribe = subscribe
        self._tracks = [
            _Track(ep, ep.stats.outlier)
            for ep in endpoints
            if ep.stats.outlier is not None
        ]
        for track in self._tracks:  # a handler run again starts in its queue groups
            track.stats.state = SERVING
            track.stats.rejoin_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # stepping out or in: let it finish
        self._stopping = False
        #: The peers' STATS replies gathered in the current round of checks,
        #: shared by its methods' first looks (second looks gather afresh).
        self._replies: list[Any] | None = None

    def start(self) -> None:
        """Start checking (on the running loop)."""
        if self._task is None and self._tracks:
            self._stopping = False
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stop checking; a step out or in under way finishes first. Methods
        that are out stay out (the handler is shutting down)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if not self._busy:
            task.cancel()
        await asyncio.wait({task})
        for track in self._tracks:
            if track.stats.state == STEPPING_OUT:
                track.stats.state = SERVING

    async def _run(self) -> None:
        interval = self.config.interval
        while not self._stopping:
            await asyncio.sleep(interval)
            self._replies = None
            for track in self._tracks:
                if self._stopping:
                    return
                try:
                    await self._check(track)
                except (AutonatsError, nats.errors.Error, OSError) as exc:
                    # The connection is down or reconnecting: try again later.
                    log.debug("%s: outlier check failed: %s", self._name(track), exc)
                except Exception:  # a bug of ours must not stop the checks, nor serving
                    log.exception("%s: outlier check failed", self._name(track))

    def _name(self, track: _Track) -> str:
        return f"{self.spec.name}.{track.ep.spec.name}"

    def _measure(self, track: _Track) -> tuple[int, int]:
        """Own calls and internal failures over the window; published in STATS."""
        now = time.monotonic()
        counters = track.ep.stats
        samples = track.samples
        samples.append((now, counters.num_requests, counters.internal_errors))
        start = now - self.config.window
        while len(samples) > 1 and samples[1][0] <= start:
            samples.popleft()
        _, requests, failures = samples[0]
        figures = track.stats
        figures.requests = counters.num_requests - requests
        figures.failures = counters.internal_errors - failures
        return figures.requests, figures.failures

    async def _check(self, track: _Track) -> None:
        figures = track.stats
        requests, failures = self._measure(track)
        now = time.monotonic()
        if figures.state == EJECTED:
            if now >= figures.rejoin_at:
                await self._rejoin(track, "its cool-down is over")
            return
        config = self.config
        if requests < config.min_requests or failures < config.failure_rate * requests:
            if track.streak and now - track.since >= config.window:
                track.streak -= 1  # a window served well: a shorter next cool-down
                track.since = now
            track.said = ""
            return
        if now < track.retry_at:
            return
        peers = await self._peers(track, fresh=False)
        decision = decide(self.id, requests, failures, peers, config)
        if not decision.step_out:
            self._stay(track, decision)
            return
        # Say so, give a peer deciding at the same moment time to see it, then
        # look again: the bound must still hold with what the peers say now.
        figures.state = STEPPING_OUT
        try:
            await asyncio.sleep(random.uniform(0.2, 1.0) * config.interval)
            requests, failures = self._measure(track)
            decision = decide(
                self.id, requests, failures, await self._peers(track), config
            )
        except BaseException:
            figures.state = SERVING
            raise
        if not decision.step_out:
            figures.state = SERVING
            self._stay(track, decision)
            return
        await self._step_out(track, decision)

    def _stay(self, track: _Track, decision: Decision) -> None:
        """It fails, but stays in: look again at a random one to four intervals
        from now (peers deciding at the same moment then take turns, and a
        long outage of every instance costs a gathering per few intervals)."""
        track.retry_at = time.monotonic() + random.uniform(1, 4) * self.config.interval
        if decision.rule != track.said:  # once per rule, not every interval
            track.said = decision.rule
            log.info(
                "%s: failing (%.0f%% of its calls) but staying in the queue group: %s",
                self._name(track),
                decision.rate * 100,
                decision.reason,
                extra=self._extra(track),
            )

    async def _peers(self, track: _Track, *, fresh: bool = True) -> list[Peer]:
        """The method's peers, from the round's replies unless ``fresh``."""
        replies = self._replies
        if fresh or replies is None:
            replies = self._replies = await discovery.stats(
                self.nc, self.spec.name, timeout=GATHER_TIMEOUT, quiet=GATHER_QUIET
            )
        method = track.ep.spec
        return peers_of(
            replies,
            self.id,
            self.spec.version,
            method.name,
            method.subject(self.prefix),
        )

    async def _step_out(self, track: _Track, decision: Decision) -> None:
        config = self.config
        figures = track.stats
        cooldown = min(config.cooldown * 2**track.streak, config.max_cooldown)
        now = time.monotonic()
        ep = track.ep
        sub, ep.sub = ep.sub, None
        figures.state = EJECTED
        figures.ejections += 1
        figures.rejoin_at = now + cooldown
        track.streak += 1
        track.since = now
        track.said = ""
        log.warning(
            "%s: this instance steps out of the queue group for %g s: %s "
            "(%d of %d instances out now, at most %d may be)",
            self._name(track),
            cooldown,
            decision.reason,
            decision.out + 1,
            decision.instances,
            decision.allowed,
            extra=self._extra(track),
        )
        self._busy = True
        try:
            if sub is not None:
                # The server stops routing to it; what it already has is served.
                await sub.drain()  # type: ignore[no-untyped-call]
        finally:
            self._busy = False
        if self._stopping:
            return
        # A peer may have stepped out in the same moment without seeing this
        # one: whoever has no precedence steps back in.
        await asyncio.sleep(random.uniform(0.5, 1.0) * config.interval)
        peers = await self._peers(track)
        ahead = sum(
            1 for p in peers if p.state in (EJECTED, STEPPING_OUT) and p.id < self.id
        )
        allowed = allowed_out(1 + len(peers), config.max_ejected)
        if ahead + 1 > allowed and figures.state == EJECTED:
            track.streak -= 1
            await self._rejoin(
                track,
                f"{ahead} instance(s) with precedence stepped out at the same "
                f"time, and at most {allowed} of {1 + len(peers)} may be out",
            )

    async def _rejoin(self, track: _Track, why: str) -> None:
        ep = track.ep
        figures = track.stats
        self._busy = True
        try:
            await self._subscribe(ep)  # if it fails, the next check tries again
            figures.state = SERVING
            figures.rejoin_at = 0.0
            track.samples.clear()  # judge it on what it does from now on
            track.since = time.monotonic()
            try:
                # Two round trips: the SUB may still wait in nats-py's buffer
                # when the first PING is written (see Handler.run).
                await self.nc.flush()
                await self.nc.flush()
            except nats.errors.Error as exc:  # subscribed; the server learns it later
                log.debug(
                    "%s: flush after rejoining failed: %s", self._name(track), exc
                )
        finally:
            self._busy = False
        log.info(
            "%s: this instance is back in the queue group: %s",
            self._name(track),
            why,
            extra=self._extra(track),
        )

    def _extra(self, track: _Track) -> dict[str, Any]:
        return {
            "service": self.spec.name,
            "method": track.ep.spec.name,
            "instance": self.id,
            "outlier_state": track.stats.state,
        }
