"""Bad input under load: random bytes, truncated JSON, deep nesting, huge strings
and wrong types at about 1,000 requests/s, mixed with good calls, sent as a
program that knows only the wire contract would send them."""

from __future__ import annotations

import asyncio
import collections
import json
import random
from typing import Any

import nats.errors
import pytest

from flt_api_nats import FltWorkClient
from flt_support import Spawn, rss_mb, steady

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

GOOD = {"name": "n", "count": 3, "tags": ["a", "b"], "scores": {"x": 1.5}}
DEPTH = 10_000


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def bad_bodies(rng: random.Random) -> list[tuple[str, bytes]]:
    """(kind, body) of requests the handler must answer with 400."""
    good = json.dumps(GOOD)
    bodies = [
        ("empty", b""),
        ("not an object", b"[1, 2, 3]"),
        ("nested top level", nested(DEPTH).encode()),
        (
            "nested typed list",
            f'{{"name":"n","count":1,"tags":{nested(DEPTH)},"scores":{{}}}}'.encode(),
        ),
        (
            "nested typed dict",
            (
                '{"name":"n","count":1,"tags":[],"scores":{"a":' + nested(DEPTH) + "}}"
            ).encode(),
        ),
        ("huge wrong type", json.dumps({**GOOD, "count": "9" * 500_000}).encode()),
        ("huge invalid", b'{"name":"' + b"x" * 500_000),
        ("wrong type", json.dumps({**GOOD, "tags": "a"}).encode()),
        ("wrong type", json.dumps({**GOOD, "name": 1}).encode()),
        ("wrong type", json.dumps({**GOOD, "scores": {"x": "y"}}).encode()),
        ("missing", json.dumps({"name": "n"}).encode()),
        ("nan", b'{"name":"n","count":1,"tags":[],"scores":{"x":NaN}}'),
        ("bad utf-8", b'{"name":"\xff\xfe","count":1,"tags":[],"scores":{}}'),
        ("lone surrogate", b'{"name":"\\ud800","count":1,"tags":[],"scores":{}}'),
    ]
    for _ in range(20):
        bodies.append(("random bytes", rng.randbytes(rng.randrange(1, 2000))))
        cut = rng.randrange(1, len(good) - 1)
        bodies.append(("truncated", good[:cut].encode()))
    return bodies


def good_bodies(rng: random.Random) -> list[tuple[bytes, int]]:
    """(body, expected result) of requests that must succeed."""
    out = []
    for i in range(20):
        tags = [str(j) for j in range(rng.randrange(0, 10))]
        body = {
            "name": "n" * rng.randrange(1, 50),
            "count": i,
            "tags": tags,
            "scores": {},
        }
        out.append((json.dumps(body).encode(), i + len(tags)))
    huge = {**GOOD, "name": "h" * 500_000, "unknown field": [1, 2]}
    out.append((json.dumps(huge).encode(), 5))
    out.append((json.dumps({**GOOD, "payload": {"deep": nested(400)}}).encode(), 5))
    return out


async def test_bad_input_at_a_thousand_requests_a_second(
    spawn: Spawn, connect: Any, nats_url: str, prefix: str
) -> None:
    handler = await spawn("flt_impl:Work", nats_url).wait_serving()
    nc = await connect(nats_url)
    subject = f"{prefix}.flt-work.take"
    rng = random.Random(6)
    bad, good = bad_bodies(rng), good_bodies(rng)
    outcomes: collections.Counter[str] = collections.Counter()
    wrong: list[tuple[str, Any]] = []
    gate = asyncio.Semaphore(150)  # within the method's concurrency + queue: no 503
    rss_before = rss_mb(handler.pid)

    async def fire(i: int) -> None:
        async with gate:
            if i % 2:
                kind, body = bad[i // 2 % len(bad)]
                expected: int | None = None
            else:
                body, expected = good[i // 2 % len(good)]
                kind = "good"
            try:
                msg = await nc.request(subject, body, timeout=10)
            except nats.errors.Error as exc:
                outcomes[f"{kind}: {type(exc).__name__}"] += 1
                wrong.append((kind, exc))
                return
            code = (msg.headers or {}).get("Nats-Service-Error-Code")
            if expected is None:
                outcomes[f"bad: {code}"] += 1
                if code != "400":
                    wrong.append((kind, (code, msg.data[:200])))
            else:
                outcomes[f"good: {code or 'ok'}"] += 1
                if code is not None or json.loads(msg.data) != expected:
                    wrong.append((kind, (code, msg.data[:200])))

    loop = asyncio.get_running_loop()
    began = loop.time()
    started = await steady(1000, 4, fire)
    took = loop.time() - began
    print(
        f"\nbad input: {started} requests in {took:.1f} s ({started / took:.0f}/s): "
        f"{dict(outcomes)}; handler RSS {rss_before:.0f} -> {rss_mb(handler.pid):.0f} MB"
    )
    assert not wrong, f"{len(wrong)} wrong answers, e.g. {wrong[:5]}"
    assert sum(outcomes.values()) == started
    assert handler.alive
    work = FltWorkClient(nc, prefix=prefix, timeout=5.0)
    assert await work.take("n", 1, ["a"], {}) == 2
    assert "unexpected failure" not in handler.output
    assert "Traceback" not in handler.output


async def test_deep_nesting_in_an_any_parameter_gets_400(
    spawn: Spawn, connect: Any, nats_url: str, prefix: str
) -> None:
    """10,000 nested arrays where the parameter's type is ``Any``: msgspec raises
    RecursionError, which is neither a DecodeError nor a ValidationError."""
    handler = await spawn("flt_impl:Work", nats_url).wait_serving()
    nc = await connect(nats_url)
    body = json.dumps({**GOOD, "payload": "@"}).replace('"@"', nested(DEPTH)).encode()
    try:
        msg = await nc.request(f"{prefix}.flt-work.take", body, timeout=3)
        code = (msg.headers or {}).get("Nats-Service-Error-Code")
    except nats.errors.TimeoutError:
        code = "no reply"
    assert handler.alive
    assert code == "400", handler.output[-3000:]
