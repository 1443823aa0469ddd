"""Every supported type and nesting, there and back through a generated client
and handler over a real nats-server."""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import AsyncIterator

import nats.aio.client
import pytest

from rt_api_nats import RtEchoClient, RtEchoHandler
from rt_helpers import is_success, request
from rt_impl import Echo, Legacy
from rt_legacy_nats import RtLegacyClient, RtLegacyHandler
from rt_types import (
    Args,
    Box,
    Color,
    Level,
    Meta,
    Model,
    Moment,
    Nest,
    Pair,
    Record,
    Seqs,
)

pytestmark = pytest.mark.timeout(30)

UTC = datetime.timezone.utc
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))
KEY = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
async def echo(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> AsyncIterator[RtEchoClient]:
    async with RtEchoHandler(hnc, Echo(), prefix=prefix):
        yield RtEchoClient(nc, prefix=prefix, timeout=5)


SCALARS = [
    ("text", ""),
    ("text", 'héllo, wörld ✓ \n\t"quoted" \\ 日本'),
    ("integer", 0),
    ("integer", -(2**63)),
    ("integer", 2**64 - 1),
    ("real", 0.1),
    ("real", -1e300),
    ("flag", True),
    ("flag", False),
    ("raw", b""),
    ("raw", bytes(range(256))),
    ("none", None),
    ("optional", None),
    ("optional", 7),
    ("union", 5),
    ("union", "five"),
    ("union", [1, 2, 3]),
    ("box", Box("crate", 3, ["x", "y"])),
    ("box", Box("bare")),
    ("meta", Meta(owner="ada", count=2)),
    ("pair", Pair(1, "one")),
    ("model", Model(name="m", score=1.5, born=datetime.date(2000, 2, 29))),
    ("model", Model(name="defaults")),
]


@pytest.mark.parametrize(("method", "value"), SCALARS)
async def test_value_round_trips(
    echo: RtEchoClient, method: str, value: object
) -> None:
    result = await getattr(echo, method)(value)
    assert result == value
    assert type(result) is type(value)


async def test_no_parameters_and_none_result(echo: RtEchoClient) -> None:
    assert await echo.ping() == "pong"
    assert await echo.nothing() is None
    assert await echo.optional() is None


async def test_sequences_keep_their_container_types(echo: RtEchoClient) -> None:
    got = await echo.sequences(
        [3, 1, 2], ("a", 1), (0.5, 1.5, 2.5), {"x", "y"}, frozenset({1, 2})
    )
    assert got == Seqs(
        [3, 1, 2], ("a", 1), (0.5, 1.5, 2.5), {"x", "y"}, frozenset({1, 2})
    )
    assert isinstance(got.pair, tuple) and isinstance(got.many, tuple)
    assert isinstance(got.names, set) and isinstance(got.frozen, frozenset)
    empty = await echo.sequences([], ("", 0), (), set(), frozenset())
    assert empty == Seqs([], ("", 0), (), set(), frozenset())


async def test_dicts_with_str_and_int_keys(echo: RtEchoClient) -> None:
    by_name = {"a": [1, 2], "": []}
    by_id = {1: "one", -2: "minus two"}
    assert await echo.mapping(by_name, by_id) == (by_name, by_id)


async def test_literals_and_enums(echo: RtEchoClient) -> None:
    assert await echo.literal("b", 2) == ("b", 2)
    assert await echo.literal("a") == ("a", 1)
    color, level = await echo.enums(Color.GREEN, Level.HIGH)
    assert color is Color.GREEN and level is Level.HIGH


@pytest.mark.parametrize(
    "at",
    [
        datetime.datetime(2026, 11, 28, 7, 0, tzinfo=UTC),
        datetime.datetime(2026, 3, 1, 23, 59, 59, 123456, tzinfo=PLUS_TWO),
        datetime.datetime(1999, 12, 31, 12, 0),  # naive stays naive
    ],
)
async def test_times(echo: RtEchoClient, at: datetime.datetime) -> None:
    day = datetime.date(2024, 2, 29)
    clock = datetime.time(9, 30, 15, 500)
    span = datetime.timedelta(days=7, seconds=1, microseconds=5)
    got = await echo.times(at, day, clock, span)
    assert got == Moment(at, day, clock, span)
    assert got.at.utcoffset() == at.utcoffset()
    negative = datetime.timedelta(seconds=-1.5)
    assert (await echo.times(at, day, clock, negative)).span == negative


async def test_uuid_and_decimal(echo: RtEchoClient) -> None:
    amount = decimal.Decimal("12345678901234567890.000000001")
    key, got = await echo.ids(KEY, amount)
    assert key == KEY and isinstance(key, uuid.UUID)
    assert got == amount and str(got) == str(amount)


async def test_struct_with_everything_nested(echo: RtEchoClient) -> None:
    record = Record(
        id=KEY,
        price=decimal.Decimal("9.95"),
        at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        color=Color.GREEN,
        level=Level.HIGH,
        box=Box("inner", 2, ["t"]),
        pairs=[Pair(1, "a"), Pair(2, "b")],
        meta=Meta(owner="o", count=1),
        model=Model(name="deep", labels=["l1"]),
    )
    got = await echo.record(record)
    assert got == record
    assert isinstance(got.box, Box) and isinstance(got.pairs[0], Pair)
    assert isinstance(got.model, Model)
    minimal = Record(id=KEY, price=decimal.Decimal(0), at=record.at)
    assert await echo.record(minimal) == minimal


async def test_pydantic_models_in_containers(echo: RtEchoClient) -> None:
    a, b = Model(name="a"), Model(name="b", score=2.0)
    got = await echo.models([a], {"b": b}, maybe=Model(name="c"))
    assert got == {"item0": a, "b": b, "maybe": Model(name="c")}
    assert all(isinstance(m, Model) for m in got.values())
    assert await echo.models([], {}) == {}


async def test_deep_nesting(echo: RtEchoClient) -> None:
    value = {
        "x": [(Pair(1, "a"), Box("b")), (Pair(2, "c"), None)],
        "empty": [],
    }
    got = await echo.nested(value)
    assert got == Nest(value)
    first_pair, first_box = got.v["x"][0]
    assert isinstance(first_pair, Pair) and isinstance(first_box, Box)


async def test_defaults_and_keyword_only_parameters(echo: RtEchoClient) -> None:
    assert await echo.defaults(1, e=True) == Args(1, "x", (1, 2), Color.GREEN, True)
    assert await echo.defaults(2, "y", (), d=Color.RED, e=False) == Args(
        2, "y", (), Color.RED, False
    )
    assert await echo.keywords(x=3) == "3:y"
    assert await echo.keywords(x=4, y="z") == "4:z"


async def test_handler_applies_defaults_of_omitted_parameters(
    nc: nats.aio.client.Client, echo: RtEchoClient, prefix: str
) -> None:
    msg = await request(nc, f"{prefix}.rt-echo.v1.defaults", {"a": 5, "e": True})
    assert is_success(msg)
    assert json.loads(msg.data) == {
        "a": 5,
        "b": "x",
        "c": [1, 2],
        "d": "green",
        "e": True,
    }
    msg = await request(nc, f"{prefix}.rt-echo.v1.keywords", {"x": 1})
    assert json.loads(msg.data) == "1:y"
    # Unknown keys are ignored (a newer client's optional parameters).
    msg = await request(nc, f"{prefix}.rt-echo.v1.keywords", {"x": 1, "zzz": [1]})
    assert json.loads(msg.data) == "1:y"


async def test_interface_without_future_annotations(
    nc: nats.aio.client.Client, hnc: nats.aio.client.Client, prefix: str
) -> None:
    async with RtLegacyHandler(hnc, Legacy(), prefix=prefix):
        client = RtLegacyClient(nc, prefix=prefix)
        assert await client.pick(None) == (None, 0)
        assert await client.pick(1, "b") == (1, "b")
        got = await client.group([Box("a", 1, ["x"]), Box("a", 2), Box("b")])
        assert got == {"a": [Pair(1, "x"), Pair(2, "")], "b": [Pair(1, "")]}
        at = datetime.datetime(2026, 1, 1, tzinfo=UTC)
        assert await client.later(at, 2) == datetime.datetime(2026, 1, 3, tzinfo=UTC)


async def test_values_travel_as_the_documented_json(
    nc: nats.aio.client.Client, echo: RtEchoClient, prefix: str
) -> None:
    """What a client in another language sends and gets back (docs/protocol.md §8)."""
    body = {
        "v": {
            "id": str(KEY),
            "price": "9.95",
            "at": "2026-11-28T07:00:00+00:00",
            "color": "green",
            "level": 2,
            "box": {"label": "b", "size": 1, "tags": []},
            "pairs": [[1, "a"]],
            "meta": {"owner": "o", "count": 1},
            "model": {"name": "m", "score": 0.0, "born": "2026-11-28", "labels": []},
        }
    }
    msg = await request(nc, f"{prefix}.rt-echo.v1.record", body)
    assert is_success(msg)
    got = json.loads(msg.data)
    assert got["id"] == str(KEY) and got["price"] == "9.95"
    assert got["at"] in ("2026-11-28T07:00:00+00:00", "2026-11-28T07:00:00Z")
    assert got["pairs"] == [[1, "a"]] and got["level"] == 2
    msg = await request(nc, f"{prefix}.rt-echo.v1.raw", {"v": "AAEC"})
    assert json.loads(msg.data) == "AAEC"  # base64 of b"\x00\x01\x02"
    msg = await request(
        nc,
        f"{prefix}.rt-echo.v1.times",
        {
            "at": "2026-11-28T07:00:00Z",
            "day": "2026-11-28",
            "clock": "09:30:00",
            "span": "P7D",
        },
    )
    assert json.loads(msg.data)["span"] == "P7D"
