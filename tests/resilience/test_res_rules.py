"""The rules of the circuit breaker and of outlier ejection, as tables of cases
(no server: a clock the test moves, STATS replies the test writes)."""

from __future__ import annotations

import pickle
from typing import Any

import autonats
import autonats.contract
import autonats.runtime
import pytest
from autonats.cli import serve as serve_cli
from autonats.cli._common import CommandError
from autonats.contract import spec
from autonats.contract.declare import MethodOptions
from autonats.observe.service_api import EndpointStatsInfo, StatsResponse, endpoint_data
from autonats.observe.stats import EndpointStats, OutlierStats
from autonats.runtime import breaker as b
from autonats.runtime import outlier as o
from autonats.runtime.client import Client

# -- what counts against a service ---------------------------------------------


class Declared(autonats.ServiceError):
    code = 503


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (autonats.TimeoutError("deadline"), b.FAILURE),
        (autonats.NoRespondersError("nobody"), b.FAILURE),
        (autonats.OverloadedError(503, "overloaded"), b.FAILURE),
        (autonats.InternalServerError(500, "internal error"), b.FAILURE),
        (autonats.RemoteError(502, "bad gateway"), b.FAILURE),
        (autonats.BadRequestError(400, "parameter 'n'"), b.SUCCESS),
        (autonats.RemoteError(404, "undeclared not found"), b.SUCCESS),
        (Declared("declared, even with 503"), b.SUCCESS),
        (autonats.ProtocolError("reply does not match"), b.NEUTRAL),
        (autonats.ConnectionError("closed"), b.NEUTRAL),
        (autonats.EncodeError("bad argument"), b.NEUTRAL),
        (ValueError("not ours"), b.NEUTRAL),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else v,
)
def test_verdict(error: BaseException, expected: str) -> None:
    assert b.verdict(error) == expected


# -- the state machine ------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FAIL = autonats.InternalServerError(500, "internal error")


def breaker(**options: Any) -> tuple[b.CircuitBreaker, Clock]:
    clock = Clock()
    config = autonats.Breaker(**{"min_calls": 4, "window": 10.0, **options})
    return b.CircuitBreaker(config, "svc.m", clock=clock), clock


def test_opens_at_the_failure_rate_once_min_calls_finished() -> None:
    cb, clock = breaker(failure_rate=0.5)
    cb.failed(0, FAIL)
    cb.failed(0, FAIL)
    cb.failed(0, FAIL)  # 3 of 3 failed, but fewer than min_calls
    assert cb.state_name == "closed"
    cb.succeeded(0, clock.now)
    cb.succeeded(0, clock.now)
    assert cb.window_counts == (5, 3)
    cb.failed(0, FAIL)  # 4 of 6
    assert cb.state_name == "open"
    assert cb.stats.state == "open" and cb.stats.transitions == {"open": 1}


def test_below_the_failure_rate_it_stays_closed() -> None:
    cb, clock = breaker(failure_rate=0.5)
    for _ in range(100):
        cb.succeeded(0, clock.now)
        cb.succeeded(0, clock.now)
        cb.failed(0, FAIL)  # a third of all calls
    assert cb.state_name == "closed"


def test_answers_count_as_successes_and_neutral_outcomes_not_at_all() -> None:
    cb, _ = breaker()
    for _ in range(50):
        cb.failed(0, Declared("no"))
        cb.failed(0, autonats.BadRequestError(400, "no"))
        cb.failed(0, autonats.ConnectionError("closed"))
    assert cb.state_name == "closed"
    assert cb.window_counts == (100, 0)


def test_old_failures_leave_the_window() -> None:
    cb, clock = breaker(min_calls=4, window=10.0)
    for _ in range(3):
        cb.failed(0, FAIL)
    clock.now += 10.5  # they are older than the window now
    cb.failed(0, FAIL)
    assert cb.window_counts == (1, 1)
    assert cb.state_name == "closed"
    for _ in range(3):
        clock.now += 2.0  # spread over 6 s: all inside the window
        cb.failed(0, FAIL)
    assert cb.state_name == "open"


def test_buckets_slide_one_tenth_of_the_window_at_a_time() -> None:
    cb, clock = breaker(min_calls=1000, window=10.0)
    clock.now = 1000.0
    cb.failed(0, FAIL)
    for step in range(1, 10):
        clock.now = 1000.0 + step
        cb.succeeded(0, clock.now)
    assert cb.window_counts == (10, 1)
    clock.now = 1010.0  # the first bucket leaves
    cb.succeeded(0, clock.now)
    assert cb.window_counts == (10, 0)


def test_open_refuses_until_open_for_then_admits_probes() -> None:
    cb, clock = breaker(open_for=5.0, probes=2)
    for _ in range(4):
        cb.failed(0, FAIL)
    assert cb.state_name == "open"
    clock.now += 4.0
    with pytest.raises(autonats.CircuitOpenError) as caught:
        cb.admit()
    assert caught.value.retry_after == pytest.approx(1.0)
    assert "svc.m: the circuit breaker is open" in str(caught.value)
    clock.now += 1.0
    first = cb.admit()
    assert cb.state_name == "half_open" and first == 1
    assert cb.admit() == 1
    with pytest.raises(autonats.CircuitOpenError) as caught:
        cb.admit()  # both probes are under way
    assert caught.value.retry_after == 0.0
    cb.succeeded(first, clock.now)
    assert cb.state_name == "half_open"
    cb.succeeded(first, clock.now)
    assert cb.state_name == "closed"
    assert cb.window_counts == (0, 0)  # counting afresh
    assert cb.stats.transitions == {"open": 1, "half_open": 1, "closed": 1}


def test_a_failed_probe_opens_it_again_and_late_answers_are_ignored() -> None:
    cb, clock = breaker(open_for=5.0, probes=2)
    for _ in range(4):
        cb.failed(0, FAIL)
    clock.now += 5.0
    probe = cb.admit()
    cb.failed(probe, autonats.TimeoutError("deadline"))
    assert cb.state_name == "open"
    cb.succeeded(0, clock.now)  # a call sent while closed, answered late
    cb.succeeded(probe, clock.now)  # the other probe of the last period
    assert cb.state_name == "open"
    clock.now += 5.0
    second = cb.admit()
    assert second == probe + 1
    cb.succeeded(probe, clock.now)  # a probe of the previous period: not this one
    assert cb.state_name == "half_open"
    cb.failed(second, autonats.ConnectionError("closed"))  # says nothing
    assert cb.admit() == second and cb.admit() == second  # its slot came back


def test_the_new_names_are_public() -> None:
    assert {"Breaker", "CircuitOpenError"} <= set(autonats.__all__)
    assert autonats.__all__ == sorted(autonats.__all__)
    assert "OutlierEjection" in autonats.runtime.__all__
    assert autonats.runtime.OutlierEjection is o.OutlierEjection
    assert autonats.contract.Breaker is autonats.Breaker


def test_circuit_open_error_pickles() -> None:
    error = autonats.CircuitOpenError("svc.m: open", retry_after=1.5)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, autonats.CircuitOpenError)
    assert again.retry_after == 1.5 and str(again) == "svc.m: open"
    assert isinstance(error, autonats.AutonatsError)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"failure_rate": 0}, "failure_rate must be a share in (0, 1], not 0"),
        ({"failure_rate": 1.01}, "failure_rate must be a share"),
        ({"min_calls": 0}, "min_calls must be an integer >= 1, not 0"),
        ({"probes": True}, "probes must be an integer >= 1, not True"),
        ({"window": 0}, "window must be a positive number of seconds, not 0"),
        ({"open_for": float("inf")}, "open_for must be a positive number"),
    ],
)
def test_breaker_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        autonats.Breaker(**options)


# -- which methods of a client get one ---------------------------------------------


class Svc:
    async def get(self, n: int) -> int: ...

    async def fire(self, n: int) -> None: ...

    async def store(self, n: int) -> None: ...


SPEC = spec.build(
    Svc,
    name="svc",
    methods={
        "get": MethodOptions(breaker=autonats.Breaker(probes=1)),
        "fire": MethodOptions(oneway=True),
        "store": MethodOptions(oneway=True, durable=True),
    },
)


def configs(setting: Any) -> dict[str, autonats.Breaker | None]:
    client = Client(None, SPEC, breaker=setting)  # type: ignore[arg-type]
    return {
        name: (cb.config if (cb := client.breaker(name)) is not None else None)
        for name in SPEC.methods
    }


def test_a_client_keeps_declared_breakers_unless_told_otherwise() -> None:
    declared = autonats.Breaker(probes=1)
    assert configs(None) == {"get": declared, "fire": None, "store": None}
    assert configs(False) == {"get": None, "fire": None, "store": None}
    # A plain oneway call never learns how it went: never a breaker.
    assert configs(True) == {
        "get": autonats.Breaker(),
        "fire": None,
        "store": autonats.Breaker(),
    }
    mine = autonats.Breaker(window=3.0)
    assert configs({"store": mine}) == {"get": declared, "fire": None, "store": mine}
    assert configs({"get": False}) == {"get": None, "fire": None, "store": None}


@pytest.mark.parametrize(
    ("setting", "error", "message"),
    [
        (
            {"nope": True},
            ValueError,
            "names methods that service 'svc' does not have: nope",
        ),
        ({"fire": True}, ValueError, "svc.fire is a oneway method"),
        ({"get": "on"}, TypeError, r"breaker\['get'\] must be True, False"),
        (
            "on",
            TypeError,
            "breaker must be True, False, an autonats.Breaker or a mapping",
        ),
    ],
)
def test_a_client_refuses_a_breaker_it_cannot_use(
    setting: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        configs(setting)


def test_declaring_a_breaker() -> None:
    @autonats.method(timeout=2.0)
    @autonats.method(breaker=True)
    async def m(self: Any) -> int: ...

    options = m.__autonats_method__  # type: ignore[attr-defined]
    assert options.breaker == autonats.Breaker() and options.timeout == 2.0

    @autonats.method(breaker=False)
    async def n(self: Any) -> int: ...

    assert n.__autonats_method__.breaker is None  # type: ignore[attr-defined]
    with pytest.raises(autonats.DeclarationError, match="breaker must be True, False"):
        autonats.method(breaker=0.5)  # type: ignore[arg-type]


# -- outlier ejection: how many may be out ------------------------------------------


@pytest.mark.parametrize(
    ("instances", "share", "allowed"),
    [
        (1, 0.2, 0),  # never the last one
        (2, 0.2, 0),
        (2, 0.5, 1),
        (3, 0.0, 1),  # one of three or more may always step out
        (3, 0.2, 1),
        (4, 0.2, 1),
        (5, 0.2, 1),
        (5, 0.4, 2),
        (10, 0.2, 2),
        (10, 0.25, 2),
        (3, 0.9, 2),  # never all
        (7, 0.3, 2),
    ],
)
def test_allowed_out(instances: int, share: float, allowed: int) -> None:
    assert o.allowed_out(instances, share) == allowed


CONFIG = o.OutlierEjection(
    min_requests=10, failure_rate=0.5, margin=0.3, max_ejected=0.2
)


def peer(
    pid: str, state: str = o.SERVING, requests: int = 100, failures: int = 0
) -> o.Peer:
    return o.Peer(pid, state, requests, failures)


@pytest.mark.parametrize(
    ("requests", "failures", "peers", "rule"),
    [
        (100, 100, [peer("a"), peer("b")], "outlier"),
        (100, 60, [peer("a", failures=20), peer("b", failures=30)], "outlier"),
        (9, 9, [peer("a"), peer("b")], "min_requests"),
        (100, 40, [peer("a"), peer("b")], "failure_rate"),
        (100, 100, [], "alone"),
        # every instance fails alike
        (100, 100, [peer("a", failures=100), peer("b", failures=100)], "alike"),
        (100, 90, [peer("a", failures=70), peer("b", failures=65)], "alike"),
        # two of three failing: the healthy peer pools with the failing one
        (100, 100, [peer("a", failures=100), peer("b")], "outlier"),
        # one out already, at most one of three may be
        (100, 100, [peer("a", o.EJECTED, 0, 0), peer("b")], "max_ejected"),
        # a peer announcing it steps out counts as out, whatever its id
        (100, 100, [peer("a", o.STEPPING_OUT, failures=100), peer("b")], "max_ejected"),
        (100, 100, [peer("z", o.STEPPING_OUT, failures=100), peer("b")], "max_ejected"),
        # peers with too few calls, or another implementation's, compare with nothing
        (100, 100, [peer("a", requests=5), peer("b", requests=5)], "no_peers"),
        (100, 100, [o.Peer("a"), o.Peer("b")], "no_peers"),
        # two instances: by default neither may step out
        (100, 100, [peer("a")], "max_ejected"),
        # instances of another version count towards the bound only
        (100, 100, [o.Peer("a", o.SERVING, 100, 0, False)] * 2, "no_peers"),
        (100, 100, [o.Peer("a", o.EJECTED, 0, 0, False), peer("b")], "max_ejected"),
        (100, 100, [o.Peer("a", o.SERVING, 100, 100, False), peer("b")], "outlier"),
    ],
)
def test_decide(requests: int, failures: int, peers: list[o.Peer], rule: str) -> None:
    decision = o.decide("m", requests, failures, peers, CONFIG)
    assert decision.rule == rule, decision
    assert decision.step_out is (rule == "outlier")


def test_decide_says_why() -> None:
    out = o.decide("m", 40, 40, [peer("a"), peer("b")], CONFIG)
    assert out.reason == (
        "100% of its 40 calls in the last 10 s failed internally, against 0% on 2 peer(s)"
    )
    assert (out.instances, out.out, out.allowed) == (3, 0, 1)


def stats_reply(
    pid: str, data: Any, version: str = "1.0.0", subject: str = "p.svc.get"
) -> StatsResponse:
    return StatsResponse(
        name="svc",
        id=pid,
        version=version,
        endpoints=[EndpointStatsInfo(name="get", subject=subject, data=data)],
    )


def test_peers_are_the_instances_serving_the_same_subject() -> None:
    figures = {"state": "ejected", "requests": 12, "failures": 9}
    replies = [
        stats_reply("me", {"outlier": figures}),
        stats_reply("a", {"outlier": figures}),
        stats_reply("b", {"in_flight": 0}),  # no figures: counts, compares nothing
        stats_reply("c", None),
        stats_reply("d", {"outlier": {"state": 3, "requests": -1}}),  # nonsense
        stats_reply("old", {"outlier": figures}, version="0.9.0"),
        stats_reply("other", {"outlier": figures}, subject="q.svc.get"),
    ]
    assert o.peers_of(replies, "me", "1.0.0", "get", "p.svc.get") == [
        o.Peer("a", "ejected", 12, 9),
        o.Peer("b"),
        o.Peer("c"),
        o.Peer("d"),
        o.Peer("old", "ejected", 12, 9, same_version=False),
    ]


def test_stats_data_publishes_the_outlier_figures() -> None:
    counters = EndpointStats(concurrency=5, shed=2, dropped=1, internal_errors=7)
    assert endpoint_data(counters) == {
        "in_flight": 0,
        "queued": 0,
        "shed": 2,
        "dropped": 1,
        "internal_errors": 7,
    }
    counters.outlier = OutlierStats(window=10.0, requests=40, failures=30, ejections=1)
    assert endpoint_data(counters)["outlier"] == {
        "state": "serving",
        "window_ms": 10000,
        "requests": 40,
        "failures": 30,
        "ejections": 1,
        "rejoin_in_ms": 0,
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"window": 0}, "window must be a positive number of seconds"),
        ({"interval": 20.0}, r"interval \(20.0 s\) must not exceed window \(10.0 s\)"),
        ({"cooldown": 400.0}, "cooldown .* must not exceed max_cooldown"),
        ({"min_requests": 0}, "min_requests must be an integer >= 1"),
        ({"failure_rate": 0}, r"failure_rate must be a share in \(0, 1\]"),
        ({"margin": 2}, "margin must be a share"),
        ({"max_ejected": 1.0}, r"max_ejected must be a share in \[0, 1\)"),
    ],
)
def test_outlier_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        o.OutlierEjection(**options)


def test_serve_options() -> None:
    assert serve_cli._outlier([], off=True) is False
    assert serve_cli._outlier([], off=False) == o.OutlierEjection()
    assert serve_cli._outlier(["window=5", "min_requests=20"], off=False) == (
        o.OutlierEjection(window=5.0, min_requests=20)
    )
    for pairs, off, message in [
        (["window=5"], True, "contradict"),
        (["windw=5"], False, "KEY one of window, interval"),
        (["window=soon"], False, "'soon' is not a number"),
        (["interval=60"], False, "interval .* must not exceed window"),
    ]:
        with pytest.raises(CommandError, match=message):
            serve_cli._outlier(pairs, off=off)
