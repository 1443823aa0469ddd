"""Timeouts, deadlines that travel with the call, cancellation and no responders."""

from __future__ import annotations

import asyncio
import json
from typing import Protocol

import autonats
import nats.aio.client
import pytest
from autonats.contract import MethodOptions, spec
from autonats.runtime import Handler
from autonats.runtime import handler as handler_module

from rt_api_nats import (
    RtInnerClient,
    RtInnerHandler,
    RtOpsClient,
    RtOpsHandler,
    RtOuterClient,
    RtOuterHandler,
)
from rt_helpers import error_of, eventually, is_success, request
from rt_impl import Inner, Ops, Outer

pytestmark = pytest.mark.timeout(30)


def elapsed_since(started: float) -> float:
    return asyncio.get_running_loop().time() - started


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_client_timeout_override_cancels_the_hanging_impl(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix):
        client = RtOpsClient(nc, prefix=prefix, timeout=0.4)
        started = now()
        with pytest.raises(autonats.TimeoutError) as info:
            await client.hang()
        took = elapsed_since(started)
        assert isinstance(info.value, TimeoutError)  # the builtin too
        assert 0.35 <= took < 1.4
        # The handler's own deadline (same instant, give or take the transit)
        # cancels the implementation: it sees CancelledError.
        await eventually(lambda: ops.cancelled == 1, timeout=2, what="impl cancelled")
        assert ops.started == 1 and ops.finished == 0
        assert handler_is_idle(ops)


def handler_is_idle(ops: Ops) -> bool:
    return ops.in_flight == 0


async def test_builtin_timeout_error_catches_it(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtOpsHandler(hnc, Ops(), prefix=prefix):
        try:
            await RtOpsClient(nc, prefix=prefix, timeout=0.2).hang()
        except TimeoutError as exc:  # builtins.TimeoutError
            assert isinstance(exc, autonats.TimeoutError)
        else:
            pytest.fail("no TimeoutError")


async def test_per_method_timeout_from_the_declaration(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """rt-ops.short is declared with @autonats.method(timeout=0.3)."""
    async with RtOpsHandler(hnc, Ops(), prefix=prefix):
        client = RtOpsClient(nc, prefix=prefix)
        assert await client.short(0.01) == 0.01
        started = now()
        with pytest.raises(autonats.TimeoutError):
            await client.short(5.0)
        assert 0.25 <= elapsed_since(started) < 1.3
        # A client-wide timeout overrides the method's own, in both directions.
        assert await RtOpsClient(nc, prefix=prefix, timeout=2.0).short(0.5) == 0.5
        started = now()
        with pytest.raises(autonats.TimeoutError):
            await RtOpsClient(nc, prefix=prefix, timeout=0.1).short(1.0)
        assert elapsed_since(started) < 0.3 + 1


async def test_handler_uses_declared_timeout_without_header(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtOpsHandler(hnc, Ops(), prefix=prefix):
        started = now()
        msg = await request(nc, f"{prefix}.rt-ops.short", {"seconds": 5.0}, timeout=3)
        code, _, body = error_of(msg)
        assert code == 504 and body["type"] == "DeadlineExceeded"
        assert 0.25 <= elapsed_since(started) < 1.3
        # The header wins over the declaration.
        msg = await request(
            nc, f"{prefix}.rt-ops.short", {"seconds": 0.5}, timeout_ms=2000, timeout=3
        )
        assert is_success(msg) and json.loads(msg.data) == 0.5


async def test_handler_deadline_follows_the_timeout_header(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix):
        msg = await request(nc, f"{prefix}.rt-ops.remaining", {}, timeout_ms=1500)
        assert 1.0 < json.loads(msg.data) <= 1.5
        # No header: the declared timeout (5 s) applies.
        msg = await request(nc, f"{prefix}.rt-ops.remaining", b"{}")
        assert 4.0 < json.loads(msg.data) <= 5.0
        remaining = await RtOpsClient(nc, prefix=prefix, timeout=0.8).remaining()
        assert 0.5 < remaining <= 0.8


async def test_work_whose_deadline_passed_is_not_started(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        for value in ("0", "00"):
            msg = await nc.request(
                f"{prefix}.rt-ops.hang",
                b'{"seconds": 0.01}',
                timeout=3,
                headers={"Autonats-Timeout": value},
            )
            code, _, body = error_of(msg)
            assert code == 504 and body["type"] == "DeadlineExceeded"
        assert ops.started == 0
        assert handler.stats()["hang"].num_errors == 2
        # Queued work whose deadline passes while it waits is not started either.
        blocker = asyncio.ensure_future(
            request(nc, f"{prefix}.rt-ops.slow", {"seconds": 0.5}, timeout_ms=3000)
        )
        blocker2 = asyncio.ensure_future(
            request(nc, f"{prefix}.rt-ops.slow", {"seconds": 0.5}, timeout_ms=3000)
        )
        await eventually(lambda: ops.in_flight == 2, what="two slow calls running")
        queued = await request(
            nc, f"{prefix}.rt-ops.slow", {"seconds": 0.01}, timeout_ms=100, timeout=3
        )
        code, _, _ = error_of(queued)
        assert code == 504
        assert all(is_success(m) for m in await asyncio.gather(blocker, blocker2))
        assert ops.started == 2  # the queued call never ran


async def test_nested_call_inherits_the_remaining_deadline(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    inner = Inner()
    outer = Outer(RtInnerClient(hnc, prefix=prefix))  # inner's own timeout: 5 s
    async with (
        RtInnerHandler(hnc, inner, prefix=prefix),
        RtOuterHandler(hnc, outer, prefix=prefix),
    ):
        client = RtOuterClient(nc, prefix=prefix, timeout=1.0)
        remaining = await client.relay()
        assert 0.5 < remaining <= 1.0
        (a_deadline,), (b_deadline,) = outer.deadlines, inner.deadlines
        # Same process, same loop clock: B's deadline is A's, give or take the
        # transit time of one message (relative timeouts, whole milliseconds).
        assert b_deadline <= a_deadline + 0.05
        assert a_deadline - b_deadline < 0.5

        # When A's deadline passes, B's call is cut short too, well before B's own 5 s.
        started = now()
        with pytest.raises(autonats.TimeoutError):
            await RtOuterClient(nc, prefix=prefix, timeout=0.4).relay(10.0)
        assert elapsed_since(started) < 1.4


async def test_no_responders_fails_fast(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    client = RtOpsClient(nc, prefix=prefix, timeout=5)
    for _ in range(3):
        started = now()
        with pytest.raises(autonats.NoRespondersError):
            await client.remaining()
        assert elapsed_since(started) < 1.0
    with pytest.raises(autonats.NoRespondersError):
        await RtOpsClient(nc).hang()  # the default prefix: nobody serves rt-ops there


async def test_handler_gone_mid_way_is_no_responders_again(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    client = RtOpsClient(nc, prefix=prefix, timeout=5)
    async with RtOpsHandler(hnc, Ops(), prefix=prefix):
        assert await client.remaining() > 0
    started = now()
    with pytest.raises(autonats.NoRespondersError):
        await client.remaining()
    assert elapsed_since(started) < 1.0


class StubbornService(Protocol):
    async def stubborn(self) -> str: ...


STUBBORN = spec.build(
    StubbornService, name="stubborn", methods={"stubborn": MethodOptions(timeout=0.05)}
)


class Stubborn:
    async def stubborn(self) -> str:
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            return "kept going"
        return "slept"


async def test_an_impl_that_swallows_its_cancellation_leaves_no_mark(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """The sweeper marks a task it cancels for its deadline; the mark must go
    with the call even when the implementation swallows the cancellation, or a
    later, unrelated cancellation of the same task would be taken for a 504."""
    async with Handler.for_spec(STUBBORN)(hnc, Stubborn(), prefix=prefix):
        # No Autonats-Timeout: the declared 0.05 s applies, the caller waits 5 s.
        msg = await request(nc, f"{prefix}.stubborn.stubborn", b"{}", timeout=5)
        assert json.loads(msg.data) == "kept going"
        assert not handler_module._expired


@pytest.mark.parametrize(
    "value",
    [
        "9" * 400,  # once an OverflowError and no reply at all
        "1" * 10,
        "-5",
        "1.5",
        "1e3",
        "+100",
        "",
        "soon",
        "\u0663\u0660\u0660",  # Arabic-Indic digits: digits to str.isdigit, not to us
    ],
)
async def test_a_malformed_timeout_header_gets_a_400_naming_it(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str, value: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        msg = await nc.request(
            f"{prefix}.rt-ops.remaining",
            b"{}",
            timeout=3,
            headers={"Autonats-Timeout": value},
        )
        code, message, body = error_of(msg)
        assert code == 400 and body["type"] == "BadRequest"
        assert "Autonats-Timeout" in message
        # The largest well-formed value is served.
        msg = await nc.request(
            f"{prefix}.rt-ops.remaining",
            b"{}",
            timeout=3,
            headers={"Autonats-Timeout": "999999999"},
        )
        assert is_success(msg) and json.loads(msg.data) > 999_000
        assert handler.stats()["remaining"].outcomes == {"400": 1, "ok": 1}
