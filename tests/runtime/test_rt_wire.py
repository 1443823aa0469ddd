"""The wire contract (docs/protocol.md), checked with plain nats-py on one side."""

from __future__ import annotations

import asyncio
import json
import logging

import autonats
import nats
import nats.aio.client
import nats.aio.msg
import nats.errors
import pytest

from rt_api import Conflict
from rt_api_nats import RtEchoClient, RtEchoHandler, RtOpsClient, RtOpsHandler
from rt_helpers import error_of, eventually, is_success, request
from rt_impl import CONFLICT_KEY, Echo, Ops

pytestmark = pytest.mark.timeout(30)


async def test_default_prefix_subject_and_request_body(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client
) -> None:
    seen: list[nats.aio.msg.Msg] = []

    async def spy(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg)

    sub = await nc.subscribe("autonats.rt-echo.>", cb=spy)
    try:
        async with RtEchoHandler(hnc, Echo()):
            client = RtEchoClient(nc)
            assert await client.defaults(1, e=False) is not None
            assert await client.ping() == "pong"
            await eventually(lambda: len(seen) == 2, what="2 requests seen")
    finally:
        await sub.unsubscribe()
    first, second = seen
    assert first.subject == "autonats.rt-echo.v1.defaults"
    assert json.loads(first.data) == {
        "a": 1,
        "b": "x",
        "c": [1, 2],
        "d": "green",
        "e": False,
    }
    assert first.reply  # request/reply: there is a reply subject
    assert second.subject == "autonats.rt-echo.v1.ping"
    assert second.data in (b"", b"{}")


async def test_custom_prefix_isolates_services(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtEchoHandler(hnc, Echo(), prefix=prefix):
        assert await RtEchoClient(nc, prefix=prefix).ping() == "pong"
        with pytest.raises(autonats.NoRespondersError):
            await RtEchoClient(nc, prefix=prefix + "x").ping()


async def test_handlers_subscribe_in_queue_group_q(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """A raw member of group "q" shares the messages with the handler: each is
    delivered once, so the handler must be in the same group."""
    ops = Ops()
    raw: list[str] = []

    async def member(msg: nats.aio.msg.Msg) -> None:
        raw.append(json.loads(msg.data)["text"])

    sub = await nc.subscribe(f"{prefix}.rt-ops.note", queue="q", cb=member)
    try:
        async with RtOpsHandler(hnc, ops, prefix=prefix):
            n = 60
            for i in range(n):
                await nc.publish(
                    f"{prefix}.rt-ops.note", json.dumps({"text": str(i)}).encode()
                )
            await nc.flush()
            await eventually(lambda: len(raw) + len(ops.notes) == n, what="all notes")
            await asyncio.sleep(0.1)  # a duplicate delivery would show up here
    finally:
        await sub.unsubscribe()
    assert len(raw) + len(ops.notes) == n
    assert sorted(raw + ops.notes, key=int) == [str(i) for i in range(n)]
    assert raw and ops.notes  # both members got some


async def test_a_call_right_after_run_finds_the_handler(
    nc: nats.aio.client.Client, nats_url: str
) -> None:
    """Once ``run()`` (or ``async with``) returns, the handler must be reachable.

    With nats-py 2.16, ``Handler.run()``'s single ``nc.flush()`` does not
    guarantee it: the flush's PING is written straight to the socket, ahead of
    SUBs still queued for nats-py's flusher task, so the server may answer the
    PING before it has seen the subscriptions. A connection busy writing (here:
    one large publish just before ``run()``) makes that likely; on an idle fresh
    connection it happens to about 1-3 % of starts.
    """
    failures = 0
    for i in range(50):
        conn = await nats.connect(nats_url, max_reconnect_attempts=0)  # plain flush()
        try:
            await conn.publish("rt.sink", b"x" * (conn.max_payload - 1024))
            prefix = f"rtfirst{i}x{id(conn)}"
            async with RtEchoHandler(conn, Echo(), prefix=prefix):
                try:
                    await request(nc, f"{prefix}.rt-echo.v1.ping", b"{}", timeout=2)
                except nats.errors.NoRespondersError:
                    failures += 1
        finally:
            await conn.close()
    assert failures == 0, f"{failures} of 50 first calls found no responders"


async def test_success_reply_has_no_error_headers(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtEchoHandler(hnc, Echo(), prefix=prefix):
        for method, body, expected in [
            ("ping", b"", "pong"),
            ("ping", b"{}", "pong"),
            ("ping", b"null", "pong"),
            ("ping", b" null\n", "pong"),  # JSON whitespace around the value
            ("ping", b" { } ", "pong"),
            ("nothing", b"{}", None),
            ("text", {"v": "hi"}, "hi"),
        ]:
            msg = await request(nc, f"{prefix}.rt-echo.v1.{method}", body)
            assert is_success(msg), msg.headers
            assert json.loads(msg.data) == expected
        msg = await request(nc, f"{prefix}.rt-echo.v1.nothing", b"")
        assert msg.data == b"null"


async def test_client_sends_remaining_time_in_whole_ms(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    """A hand-written responder stands in for the handler. The header is sent
    only when the deadline differs from the method's declared timeout, which
    the handler falls back to."""
    seen: list[nats.aio.msg.Msg] = []

    async def responder(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg)
        await msg.respond(b'"pong"')

    sub = await nc.subscribe(f"{prefix}.rt-echo.v1.ping", queue="q", cb=responder)
    try:
        assert await RtEchoClient(nc, prefix=prefix, timeout=1.5).ping() == "pong"
        assert await RtEchoClient(nc, prefix=prefix).ping() == "pong"
    finally:
        await sub.unsubscribe()
    overridden, default = seen
    assert overridden.headers is not None
    assert overridden.headers["Autonats-Timeout"].isdigit()
    assert 1000 < int(overridden.headers["Autonats-Timeout"]) <= 1500
    # The declared timeout (5 s) applies: nothing to send.
    assert "Autonats-Timeout" not in (default.headers or {})


async def test_client_reads_hand_written_error_replies(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    """A handler in another language: error headers and body, or headers alone."""
    replies = {
        "conflict": (
            {"Nats-Service-Error": "taken", "Nats-Service-Error-Code": "409"},
            json.dumps(
                {
                    "type": "Conflict",
                    "code": 409,
                    "message": "taken",
                    "fields": {
                        "key": str(CONFLICT_KEY),
                        "when": "2026-05-01T12:30:00Z",
                        "count": 3,
                        "tags": ["t"],
                    },
                }
            ).encode(),
        ),
        "unparsable": (
            {"Nats-Service-Error": "bad thing", "Nats-Service-Error-Code": "400"},
            b"not json",
        ),
        "other": (
            {"Nats-Service-Error": "teapot", "Nats-Service-Error-Code": "418"},
            json.dumps({"type": "Teapot", "code": 418, "message": "teapot"}).encode(),
        ),
        "late": (
            {"Nats-Service-Error": "deadline", "Nats-Service-Error-Code": "504"},
            json.dumps(
                {"type": "DeadlineExceeded", "code": 504, "message": "deadline"}
            ).encode(),
        ),
    }

    async def responder(msg: nats.aio.msg.Msg) -> None:
        headers, data = replies[json.loads(msg.data)["kind"]]
        await nc.publish(msg.reply, data, headers=headers)

    sub = await nc.subscribe(f"{prefix}.rt-echo.v1.fail", cb=responder)
    client = RtEchoClient(nc, prefix=prefix, timeout=2)
    try:
        with pytest.raises(Conflict) as conflict:
            await client.fail("conflict")
        assert conflict.value.key == CONFLICT_KEY  # type: ignore[attr-defined]
        with pytest.raises(autonats.BadRequestError) as bad:
            await client.fail("unparsable")
        assert (bad.value.code, bad.value.message) == (400, "bad thing")
        with pytest.raises(autonats.RemoteError) as other:
            await client.fail("other")
        assert (other.value.code, other.value.type) == (418, "Teapot")
        with pytest.raises(autonats.TimeoutError):
            await client.fail("late")
    finally:
        await sub.unsubscribe()


async def test_plain_nats_program_calls_and_reads_a_typed_error(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client
) -> None:
    """docs/protocol.md §7: only nats-py, JSON and the two headers."""
    async with RtEchoHandler(hnc, Echo()):
        ok = await nc.request(
            "autonats.rt-echo.v1.text",
            b'{"v": "from another language"}',
            timeout=5,
            headers={"Autonats-Timeout": "5000"},
        )
        assert not ok.headers and json.loads(ok.data) == "from another language"
        err = await nc.request(
            "autonats.rt-echo.v1.fail",
            b'{"kind": "conflict"}',
            timeout=5,
            headers={"Autonats-Timeout": "5000"},
        )
    assert err.headers is not None
    assert err.headers["Nats-Service-Error-Code"] == "409"
    assert err.headers["Nats-Service-Error"] == "already taken"
    assert json.loads(err.data) == {
        "type": "Conflict",
        "code": 409,
        "message": "already taken",
        "fields": {
            "key": str(CONFLICT_KEY),
            "when": "2026-05-01T12:30:00Z",
            "count": 3,
            "tags": ["a", "b"],
        },
    }


# -- oneway ------------------------------------------------------------------


async def test_oneway_is_published_without_reply_subject(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    seen: list[nats.aio.msg.Msg] = []

    async def listener(msg: nats.aio.msg.Msg) -> None:
        seen.append(msg)

    sub = await nc.subscribe(f"{prefix}.rt-ops.note", cb=listener)
    try:
        async with RtOpsHandler(hnc, ops, prefix=prefix):
            client = RtOpsClient(nc, prefix=prefix)
            assert await client.note("hello") is None
            await eventually(lambda: ops.notes == ["hello"] and len(seen) == 1)
    finally:
        await sub.unsubscribe()
    assert seen[0].reply == ""
    assert json.loads(seen[0].data) == {"text": "hello"}
    # The declared timeout applies, so no Autonats-Timeout header (nor any other).
    assert not seen[0].headers


async def test_a_oneway_method_called_with_a_reply_subject_answers_empty(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    """docs/protocol.md, section 2: it runs (with the header's deadline), then
    the reply is empty (zero bytes), or an error reply if it failed."""
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix):
        msg = await request(nc, f"{prefix}.rt-ops.note", {"text": "a"}, timeout_ms=900)
        assert is_success(msg) and msg.data == b""
        assert ops.notes == ["a"]
        failed = await request(nc, f"{prefix}.rt-ops.boom", {"text": "b"})
        code, _, body = error_of(failed)
        assert code == 500 and body["type"] == "InternalError"


async def test_a_request_published_without_a_reply_subject_still_runs(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        await nc.publish(f"{prefix}.rt-ops.slow", b'{"seconds": 0}')
        await eventually(lambda: ops.finished == 1, what="the call to run")
        await eventually(lambda: handler.stats()["slow"].num_requests == 1)


async def test_oneway_errors_count_in_stats(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtOpsHandler(hnc, Ops(), prefix=prefix) as handler:
        await RtOpsClient(nc, prefix=prefix).boom("x")
        stats = handler.stats()["boom"]
        await eventually(lambda: stats.num_errors == 1, what="the error counted")
        assert stats.num_requests == 1 and stats.last_error == "500:internal error"


async def test_oneway_returns_at_once_and_in_order(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    ops = Ops()
    async with RtOpsHandler(hnc, ops, prefix=prefix, concurrency=1):
        client = RtOpsClient(nc, prefix=prefix)
        for i in range(50):
            await client.note(str(i))
        await eventually(lambda: len(ops.notes) == 50, what="50 notes")
    assert ops.notes == [str(i) for i in range(50)]


async def test_oneway_without_handler_does_not_raise(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    await RtOpsClient(nc, prefix=prefix).note("nobody listens")


async def test_oneway_exception_is_logged_and_harmless(
    nc: nats.aio.client.Client,
    hnc: nats.aio.client.Client,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ops = Ops()
    caplog.set_level(logging.INFO, logger="autonats")
    async with RtOpsHandler(hnc, ops, prefix=prefix) as handler:
        client = RtOpsClient(nc, prefix=prefix)
        await client.boom("oneway-kaboom")
        await eventually(
            lambda: any(
                "oneway-kaboom" in (r.exc_text or "")
                or (r.exc_info and "oneway-kaboom" in str(r.exc_info[1]))
                for r in caplog.records
            ),
            what="the oneway failure logged",
        )
        await client.note("still fine")
        await eventually(lambda: ops.notes == ["still fine"])
        assert await client.remaining() > 0
        assert handler.stats()["boom"].num_errors == 1
