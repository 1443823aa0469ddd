"""Prometheus metrics for every client and handler in the process.

Clients and handlers always keep cheap counters (:mod:`autonats.stats`); this
collector reads them at scrape time, so metrics add nothing to a call.
Needs ``prometheus-client`` (``pip install 'autonats[metrics]'``)::

    autonats.metrics.register()            # into prometheus_client's default registry
    autonats.metrics.serve(9100)           # or: autonats serve --metrics-port 9100

Scale a handler Deployment on ``autonats_handler_capacity`` (free concurrency
slots), and alert on error rates, ejected instances and open circuit
breakers: see docs/operations.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from autonats.observe.stats import (
    LATENCY_BUCKETS,
    Latency,
    live_clients,
    live_handlers,
)

__all__ = ["BREAKER_STATES", "Collector", "register", "serve"]

#: The states of a client's circuit breaker, as metric labels.
BREAKER_STATES = ("closed", "open", "half_open")

_registered: set[int] = set()


class Collector:
    """A prometheus-client collector over the live clients' and handlers' counters."""

    def collect(self) -> Iterator[Any]:
        """Yield the metric families (called by prometheus-client on every scrape)."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        labels = ["service", "method"]
        requests = CounterMetricFamily(
            "autonats_handler_requests",
            "Requests a handler finished, by reply code ('ok' for success).",
            labels=[*labels, "code"],
        )
        latency = HistogramMetricFamily(
            "autonats_handler_latency_seconds",
            "Time from a request's start to its reply, in the handler.",
            labels=labels,
        )
        in_flight = GaugeMetricFamily(
            "autonats_handler_in_flight", "Calls running now.", labels=labels
        )
        queued = GaugeMetricFamily(
            "autonats_handler_queued",
            "Requests waiting for a free slot.",
            labels=labels,
        )
        shed = CounterMetricFamily(
            "autonats_handler_shed",
            "Requests refused with 503 because concurrency and queue were full.",
            labels=labels,
        )
        dropped = CounterMetricFamily(
            "autonats_handler_dropped",
            "Oneway calls dropped because the method's queue was at its bound.",
            labels=labels,
        )
        capacity = GaugeMetricFamily(
            "autonats_handler_capacity",
            "Free concurrency slots: scale out when this stays near zero.",
            labels=labels,
        )
        concurrency = GaugeMetricFamily(
            "autonats_handler_concurrency",
            "Concurrency limit (slots) per method.",
            labels=labels,
        )
        internal = CounterMetricFamily(
            "autonats_handler_internal_errors",
            "Requests that failed by the handler's fault: an undeclared exception "
            "(500) or a missed deadline (504).",
            labels=labels,
        )
        ejected = GaugeMetricFamily(
            "autonats_handler_ejected",
            "1 while this instance is out of the method's queue group (outlier "
            "ejection), else 0; summed over the handlers of the process.",
            labels=labels,
        )
        ejections = CounterMetricFamily(
            "autonats_handler_ejections",
            "Times this instance stepped out of the method's queue group.",
            labels=labels,
        )
        for (service, method), group in _group(
            (h.spec.name, name, stats)
            for h in list(live_handlers)
            if h.running
            for name, stats in h.stats().items()
        ):
            key = [service, method]
            outcomes: dict[str, int] = {}
            for s in group:
                for code, n in s.outcomes.items():
                    outcomes[code] = outcomes.get(code, 0) + n
            for code, n in sorted(outcomes.items()):
                requests.add_metric([*key, code], n)
            _histogram(latency, key, [s.latency for s in group])
            in_flight.add_metric(key, sum(s.in_flight for s in group))
            queued.add_metric(key, sum(s.queued for s in group))
            shed.add_metric(key, sum(s.shed for s in group))
            dropped.add_metric(key, sum(s.dropped for s in group))
            capacity.add_metric(key, sum(s.capacity for s in group))
            concurrency.add_metric(key, sum(s.concurrency for s in group))
            internal.add_metric(key, sum(s.internal_errors for s in group))
            watched = [s.outlier for s in group if s.outlier is not None]
            if watched:
                ejected.add_metric(key, sum(o.state == "ejected" for o in watched))
                ejections.add_metric(key, sum(o.ejections for o in watched))
        yield from (
            requests,
            latency,
            in_flight,
            queued,
            shed,
            dropped,
            capacity,
            concurrency,
            internal,
            ejected,
            ejections,
        )

        calls = CounterMetricFamily(
            "autonats_client_calls",
            "Calls a client finished, by outcome: ok, an error code, timeout, "
            "no_responders, circuit_open, error or cancelled.",
            labels=[*labels, "outcome"],
        )
        client_latency = HistogramMetricFamily(
            "autonats_client_latency_seconds",
            "Time from a call's start to its result, in the client.",
            labels=labels,
        )
        client_in_flight = GaugeMetricFamily(
            "autonats_client_in_flight", "Calls waiting for a reply.", labels=labels
        )
        breaker_state = GaugeMetricFamily(
            "autonats_client_breaker_state",
            "Clients of the process whose circuit breaker for the method is in "
            "each state (closed, open, half_open).",
            labels=[*labels, "state"],
        )
        breaker_transitions = CounterMetricFamily(
            "autonats_client_breaker_transitions",
            "Changes of state of the clients' circuit breakers, by the state entered.",
            labels=[*labels, "state"],
        )
        for (service, method), group in _group(
            (c.spec.name, name, stats)
            for c in list(live_clients)
            for name, stats in c.stats().items()
        ):
            key = [service, method]
            outcomes = {}
            for s in group:
                for outcome, n in s.outcomes.items():
                    outcomes[outcome] = outcomes.get(outcome, 0) + n
            for outcome, n in sorted(outcomes.items()):
                calls.add_metric([*key, outcome], n)
            _histogram(client_latency, key, [s.latency for s in group])
            client_in_flight.add_metric(key, sum(s.in_flight for s in group))
            breakers = [s.breaker for s in group if s.breaker is not None]
            if breakers:
                for state in BREAKER_STATES:
                    breaker_state.add_metric(
                        [*key, state], sum(b.state == state for b in breakers)
                    )
                    breaker_transitions.add_metric(
                        [*key, state],
                        sum(b.transitions.get(state, 0) for b in breakers),
                    )
        yield from (
            calls,
            client_latency,
            client_in_flight,
            breaker_state,
            breaker_transitions,
        )


def _group(
    rows: Iterable[tuple[str, str, Any]],
) -> list[tuple[tuple[str, str], list[Any]]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for service, method, stats in rows:
        groups.setdefault((service, method), []).append(stats)
    return sorted(groups.items())


def _histogram(family: Any, key: list[str], latencies: list[Latency]) -> None:
    counts = [sum(col) for col in zip(*(h.counts for h in latencies), strict=True)]
    buckets = []
    total = 0
    for bound, n in zip([*LATENCY_BUCKETS, float("inf")], counts, strict=True):
        total += n
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), total))
    family.add_metric(key, buckets, sum(h.sum_ns for h in latencies) / 1e9)


def register(registry: Any = None) -> None:
    """Add the collector to ``registry`` (default: prometheus-client's global one), once."""
    from prometheus_client import REGISTRY

    target = REGISTRY if registry is None else registry
    if id(target) not in _registered:
        target.register(Collector())
        _registered.add(id(target))


def serve(port: int, addr: str = "0.0.0.0") -> None:
    """Register the collector and serve ``/metrics`` on ``addr:port`` in a thread."""
    from prometheus_client import start_http_server

    register()
    start_http_server(port, addr=addr)
