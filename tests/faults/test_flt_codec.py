"""Property tests of the request codec on the handler path: whatever bytes
arrive, decoding yields the arguments or a 400 reply; every value of the
declared parameter types survives a round trip through the client's encoder."""

from __future__ import annotations

import datetime
import json
import string
import uuid
from typing import Any

import pytest
from autonats.contract.spec import MethodSpec
from autonats.runtime.client import _encode
from autonats.runtime.handler import _decode_args
from autonats.runtime.reply import Reply as _Reply
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flt_api import Color, Point
from flt_api_nats import FLT_CODEC_SERVICE, FLT_WORK_SERVICE

TYPED = FLT_CODEC_SERVICE.methods["typed"]
TAKE = FLT_WORK_SERVICE.methods["take"]
ECHO = FLT_WORK_SERVICE.methods["echo"]
PID = FLT_WORK_SERVICE.methods["pid"]  # no parameters
SPECS = [TYPED, TAKE, ECHO, PID]

# No example database: the tests must not write into the repository.
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


def decodes_or_400(spec: MethodSpec, data: bytes) -> None:
    """The handler's decode either returns the arguments or raises a 400 reply."""
    try:
        values = _decode_args(spec, data)
    except _Reply as reply:
        assert reply.code == 400, (reply.code, reply.message)
        assert reply.kind == "BadRequest"
        assert reply.message
        return
    assert isinstance(values, tuple)
    assert len(values) == len(spec.params)


@SETTINGS
@given(spec=st.sampled_from(SPECS), data=st.binary(max_size=2000))
@example(spec=TAKE, data=b"\xff")
@example(spec=TAKE, data=b"{" * 5000)
@example(spec=TYPED, data=b'{"i": 1e999}')
@example(spec=PID, data=b"[]")
def test_arbitrary_bytes_decode_or_get_400(spec: MethodSpec, data: bytes) -> None:
    decodes_or_400(spec, data)


@SETTINGS
@given(
    spec=st.sampled_from(SPECS),
    value=json_values,
    cut=st.integers(min_value=0, max_value=200),
)
def test_json_and_truncated_json_decode_or_get_400(
    spec: MethodSpec, value: Any, cut: int
) -> None:
    text = json.dumps(value).encode()
    decodes_or_400(spec, text)
    decodes_or_400(spec, text[:cut])


@SETTINGS
@given(
    field=st.sampled_from(["name", "count", "tags", "scores", "payload", "extra"]),
    value=json_values,
)
def test_any_value_in_any_field_decodes_or_gets_400(field: str, value: Any) -> None:
    body = {"name": "n", "count": 1, "tags": [], "scores": {}, field: value}
    decodes_or_400(TAKE, json.dumps(body).encode())


@pytest.mark.parametrize("depth", [10, 500, 10_000])
@pytest.mark.parametrize("field", ["tags", "scores", "payload"])
def test_deep_nesting_decodes_or_gets_400(field: str, depth: int) -> None:
    """Bug: in a parameter typed ``Any`` (``payload``) 10,000 nested arrays make
    msgspec raise RecursionError, which is not mapped to 400: the handler logs
    "unexpected failure" and the caller gets no reply until its deadline."""
    body = json.dumps({"name": "n", "count": 1, "tags": [], "scores": {}, field: "@"})
    data = body.replace('"@"', "[" * depth + "]" * depth).encode()
    decodes_or_400(TAKE, data)


floats = st.floats(allow_nan=False, allow_infinity=False)
int64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
typed_args = st.tuples(
    int64,
    floats,
    st.text(),
    st.binary(),
    st.lists(int64, max_size=10),
    st.dictionaries(st.text(max_size=10), floats, max_size=5),
    st.none() | int64,
    st.datetimes(timezones=st.none() | st.just(datetime.timezone.utc)),
    st.uuids(),
    st.sampled_from(Color),
    st.builds(Point, x=int64, y=int64, label=st.text(max_size=10)),
    st.sampled_from(["a", "b"]),
    st.tuples(int64, st.text(alphabet=string.printable, max_size=10)),
)


@SETTINGS
@given(args=typed_args)
def test_typed_arguments_round_trip(args: tuple[Any, ...]) -> None:
    data = _encode(TYPED, args)
    assert _decode_args(TYPED, data) == args


@SETTINGS
@given(
    name=st.text(),
    count=st.integers(),
    tags=st.lists(st.text(max_size=5), max_size=5),
    scores=st.dictionaries(st.text(max_size=5), floats, max_size=5),
    payload=json_values,
)
def test_take_arguments_round_trip(
    name: str, count: int, tags: list[str], scores: dict[str, float], payload: Any
) -> None:
    args = (name, count, tags, scores, payload)
    assert _decode_args(TAKE, _encode(TAKE, args)) == args


def test_an_unknown_uuid_string_is_a_400_not_a_crash() -> None:
    body = {
        "i": 1,
        "f": 1.0,
        "s": "",
        "b": "",
        "xs": [],
        "m": {},
        "o": None,
        "when": "2024-01-01T00:00:00Z",
        "key": "not a uuid",
        "color": "red",
        "point": {"x": 1, "y": 2},
        "tag": "a",
    }
    decodes_or_400(TYPED, json.dumps(body).encode())
    body["key"] = str(uuid.uuid4())
    decodes_or_400(TYPED, json.dumps(body).encode())
