"""Error replies of every code, bad input sent raw, and the handler surviving it all."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator

import autonats
import nats.aio.client
import nats.errors
import pytest

from rt_api import Conflict, Gone
from rt_api_nats import RtEchoClient, RtEchoHandler
from rt_helpers import error_of, is_success, request
from rt_impl import CONFLICT_KEY, CONFLICT_WHEN, Echo

pytestmark = pytest.mark.timeout(30)

SECRET = "s3cr3t-token-0xDEADBEEF"


@pytest.fixture
async def echo(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> AsyncIterator[RtEchoClient]:
    async with RtEchoHandler(hnc, Echo(), prefix=prefix):
        yield RtEchoClient(nc, prefix=prefix, timeout=5)


async def still_serves(nc: nats.aio.client.Client, prefix: str) -> None:
    msg = await request(nc, f"{prefix}.rt-echo.v1.integer", {"v": 41})
    assert is_success(msg) and json.loads(msg.data) == 41


# -- declared errors -----------------------------------------------------------


async def test_declared_error_keeps_class_message_and_typed_fields(
    echo: RtEchoClient,
) -> None:
    with pytest.raises(Conflict) as info:
        await echo.fail("conflict")
    err = info.value
    assert type(err) is Conflict and err.code == 409
    assert err.message == "already taken" and str(err) == "already taken"
    assert err.key == CONFLICT_KEY and isinstance(err.key, type(CONFLICT_KEY))  # type: ignore[attr-defined]
    assert err.when == CONFLICT_WHEN  # type: ignore[attr-defined]
    assert err.count == 3 and err.tags == ["a", "b"]  # type: ignore[attr-defined]
    assert err.fields == {
        "key": CONFLICT_KEY,
        "when": CONFLICT_WHEN,
        "count": 3,
        "tags": ["a", "b"],
    }
    with pytest.raises(Gone) as gone:
        await echo.fail("gone")
    assert (gone.value.code, gone.value.message, gone.value.fields) == (
        410,
        "gone away",
        {},
    )


async def test_declared_error_on_the_wire(
    nc: nats.aio.client.Client, echo: RtEchoClient, prefix: str
) -> None:
    code, header, body = error_of(
        await request(nc, f"{prefix}.rt-echo.v1.fail", {"kind": "gone"})
    )
    assert (code, header) == (410, "gone away")
    assert body == {"type": "Gone", "code": 410, "message": "gone away"}


# -- 400 -------------------------------------------------------------------------

BAD_BODIES = [
    pytest.param("integer", b'{"v": 1', "not valid JSON", id="truncated-json"),
    pytest.param("integer", b"{v: 1}", "not valid JSON", id="invalid-json"),
    pytest.param("integer", b'{"v": "one"}', "parameter 'v'", id="wrong-type"),
    pytest.param("integer", b'{"v": 1.5}', "parameter 'v'", id="float-for-int"),
    pytest.param("integer", b'{"v": null}', "parameter 'v'", id="null-for-int"),
    pytest.param("integer", b"{}", "'v'", id="missing"),
    pytest.param("integer", b"", "'v'", id="empty-body"),
    pytest.param("integer", b"[41]", "object", id="array"),
    pytest.param("integer", b'"v"', "object", id="string"),
    pytest.param("integer", b"\xff\xfe\xfd", "JSON", id="non-utf8-body"),
    pytest.param("text", b'{"v": "\xff\xfe"}', "", id="non-utf8-in-string"),
    pytest.param("ping", b"[1, 2]", "object", id="array-no-params"),
    pytest.param("ping", b"   ", "JSON", id="only-whitespace-no-params"),
    pytest.param("integer", b"null", "object", id="null-with-params"),
    pytest.param("integer", b'{"v": 1.0}', "parameter 'v'", id="whole-float-for-int"),
    pytest.param("ping", b"{oops", "JSON", id="invalid-json-no-params"),
    pytest.param(
        "enums", b'{"color": "blue", "level": 1}', "parameter 'color'", id="enum"
    ),
    pytest.param("literal", b'{"v": "c"}', "parameter 'v'", id="literal"),
    pytest.param(
        "ids", b'{"key": "not-a-uuid", "amount": "1"}', "parameter 'key'", id="uuid"
    ),
    pytest.param(
        "ids",
        b'{"key": "%s", "amount": "x"}' % str(CONFLICT_KEY).encode(),
        "parameter 'amount'",
        id="decimal",
    ),
    pytest.param("box", b'{"v": {"size": 1}}', "parameter 'v'", id="nested-missing"),
    pytest.param(
        "sequences",
        b'{"items": [1, "2"], "pair": ["a", 1], "many": [], "names": [], "frozen": []}',
        "parameter 'items'",
        id="list-item",
    ),
    pytest.param("keywords", b'{"y": "only"}', "'x'", id="missing-keyword-only"),
    pytest.param(
        "model", b'{"v": {"score": 1}}', "parameter 'v'", id="pydantic-invalid"
    ),
]


@pytest.mark.parametrize(("method", "body", "mentions"), BAD_BODIES)
async def test_bad_request_is_400_and_handler_keeps_serving(
    nc: nats.aio.client.Client,
    echo: RtEchoClient,
    prefix: str,
    method: str,
    body: bytes,
    mentions: str,
) -> None:
    msg = await request(nc, f"{prefix}.rt-echo.v1.{method}", body, timeout=3)
    code, _, payload = error_of(msg)
    assert code == 400
    assert payload["type"] == "BadRequest"
    assert mentions in payload["message"]
    assert "Traceback" not in payload["message"]
    await still_serves(nc, prefix)


async def test_bad_request_error_in_the_client(echo: RtEchoClient) -> None:
    with pytest.raises(autonats.BadRequestError) as info:
        await echo.integer("nope")  # type: ignore[arg-type]
    assert info.value.code == 400 and "parameter 'v'" in info.value.message
    assert info.value.type == "BadRequest"


async def test_huge_payloads_near_max_payload(
    nc: nats.aio.client.Client, echo: RtEchoClient, prefix: str
) -> None:
    limit = nc.max_payload
    subject = f"{prefix}.rt-echo.v1.size"
    text = "x" * (limit - 100)
    # Valid and just under the limit: served.
    msg = await request(nc, subject, {"v": text})
    assert is_success(msg) and json.loads(msg.data) == len(text)
    assert await echo.size(text) == len(text)
    # Invalid and just under the limit: 400, with a short message.
    refused = await request(nc, subject, {"v": len(text), "pad": text})
    code, header, body = error_of(refused)
    assert code == 400 and "parameter 'v'" in body["message"]
    assert len(refused.data) < 200 and len(header) <= 512  # not the request echoed
    code, _, _ = error_of(await request(nc, subject, b'{"v": "' + text.encode()))
    assert code == 400
    await still_serves(nc, prefix)
    # Over the limit: refused by the client at once, never a timeout.
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(autonats.EncodeError):
        await echo.size("x" * (limit + 10))
    assert loop.time() - started < 2
    await still_serves(nc, prefix)


async def test_missing_arguments_are_an_encode_error(echo: RtEchoClient) -> None:
    """``Client.call`` with too few arguments fails before sending, as a
    counted error: not as a raw ValueError, nor as a cancelled call."""
    # ``defaults`` has a required keyword after defaults: a keyword-only Struct.
    with pytest.raises(autonats.EncodeError, match="defaults"):
        await echo._client.call("defaults", [1])
    with pytest.raises(autonats.EncodeError, match="keywords"):
        await echo._client.call("keywords", [])
    stats = echo._client.stats()
    assert stats["defaults"].outcomes == stats["keywords"].outcomes == {"error": 1}


async def test_reply_over_max_payload_is_an_error_not_a_timeout(
    echo: RtEchoClient, nc: nats.aio.client.Client, prefix: str
) -> None:
    """A result too large to send: the caller should learn at once."""
    limit = nc.max_payload
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(autonats.RemoteError) as info:
        await RtEchoClient(nc, prefix=prefix, timeout=2).repeat(
            "x" * 1000, limit // 1000 + 1
        )
    assert info.value.code == 500
    assert loop.time() - started < 1.5
    await still_serves(nc, prefix)


# -- 500 -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["crash", "keyerror", "unencodable"])
async def test_undeclared_exception_is_500_without_leaking(
    nc: nats.aio.client.Client,
    echo: RtEchoClient,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    caplog.set_level(logging.INFO, logger="autonats")
    msg = await request(
        nc, f"{prefix}.rt-echo.v1.fail", {"kind": kind, "secret": SECRET}
    )
    code, header, body = error_of(msg)
    assert code == 500
    assert header == "internal error"
    assert body == {"type": "InternalError", "code": 500, "message": "internal error"}
    raw = bytes(msg.data) + repr(msg.headers).encode()
    for leak in (SECRET, "Traceback", "RuntimeError", "KeyError", "object at 0x"):
        assert leak.encode() not in raw
    # ... but the handler's log has the details.
    logged = "\n".join(
        r.getMessage()
        + (r.exc_text or "")
        + (repr(r.exc_info[1]) if r.exc_info else "")
        for r in caplog.records
    )
    assert "rt-echo.fail" in logged
    if kind != "unencodable":
        assert SECRET in logged
    with pytest.raises(autonats.InternalServerError) as info:
        await echo.fail(kind, SECRET)
    assert info.value.code == 500 and SECRET not in str(info.value)
    await still_serves(nc, prefix)


async def test_service_error_not_declared_by_the_interface(
    nc: nats.aio.client.Client, echo: RtEchoClient, prefix: str
) -> None:
    """The client cannot rebuild a class it does not know: a RemoteError, never a hang."""
    with pytest.raises(autonats.RemoteError) as info:
        await echo.fail("teapot", "spout")
    assert not isinstance(info.value, autonats.ServiceError)
    assert info.value.code in (418, 500)
    if info.value.code == 418:
        assert info.value.type == "Teapot"
        assert info.value.message == "short and stout"
    await still_serves(nc, prefix)


# -- robustness ----------------------------------------------------------------


async def test_a_thousand_mixed_requests(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    rng = random.Random(1234)
    bad_bodies = [b"{", b"[]", b'{"v": "x"}', b"{}", b"\xff", b'{"v": [1]}', b"null"]
    plan = [
        (True, i) if rng.random() < 0.5 else (False, rng.choice(bad_bodies))
        for i in range(1000)
    ]
    results: list[tuple[bool, object, int, object]] = []
    gate = asyncio.Semaphore(50)

    async def one(good: bool, value: object) -> None:
        body = json.dumps({"v": value}).encode() if good else value
        async with gate:
            msg = await request(nc, f"{prefix}.rt-echo.v1.integer", body, timeout=10)  # type: ignore[arg-type]
        if is_success(msg):
            results.append((good, value, 200, json.loads(msg.data)))
        else:
            code, _, body_ = error_of(msg)
            results.append((good, value, code, body_))

    async with RtEchoHandler(hnc, Echo(), prefix=prefix, concurrency=10):
        await asyncio.wait_for(asyncio.gather(*(one(g, v) for g, v in plan)), 25)
    assert len(results) == 1000
    for good, value, code, body in results:
        if good:
            assert (code, body) == (200, value)
        else:
            assert code == 400, (value, body)
