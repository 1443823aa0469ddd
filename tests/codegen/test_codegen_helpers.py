"""Pure helpers, from tables of cases."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import pytest
from autonats.codegen.parse import pascal_case
from autonats.contract.codec import Param, args_struct, describe_validation_error


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("user", "User"),
        ("User", "User"),
        ("user_profile", "UserProfile"),
        ("user-profile", "UserProfile"),
        ("user__profile", "UserProfile"),
        ("_user_", "User"),
        ("userProfile", "UserProfile"),
        ("HTTPServer", "HTTPServer"),
        ("a-b_c", "ABC"),
        ("v2", "V2"),
        ("api_v2_beta", "ApiV2Beta"),
    ],
)
def test_pascal_case(name: str, expected: str) -> None:
    assert pascal_case(name) == expected


def _error(params: list[Param], body: bytes, kw_only: bool = False) -> str:
    struct = args_struct("svc.m", params, kw_only=kw_only)
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(body, type=struct)
    return describe_validation_error(info.value)


P: dict[str, Any] = {
    "id": Param("id", str),
    "count": Param("count", int, 1),
    "tags": Param("tags", list[str]),
    "point": Param("point", dict[str, int]),
    "nested": Param("nested", list[dict[str, int]]),
}


@pytest.mark.parametrize(
    ("params", "body", "expected"),
    [
        (["id"], b"{}", "missing required parameter 'id'"),
        (["id"], b'{"id": 1}', "parameter 'id': Expected `str`, got `int`"),
        (
            ["id", "count"],
            b'{"id": "x", "count": "many"}',
            "parameter 'count': Expected `int`, got `str`",
        ),
        (
            ["tags"],
            b'{"tags": ["a", 2]}',
            "parameter 'tags' at [1]: Expected `str`, got `int`",
        ),
        (
            ["point"],
            b'{"point": {"x": "1"}}',
            "parameter 'point' at [...]: Expected `int`, got `str`",
        ),
        (
            ["nested"],
            b'{"nested": [{"a": 1}, {"b": null}]}',
            "parameter 'nested' at [1][...]: Expected `int`, got `null`",
        ),
        (
            ["id"],
            b"[1]",
            "the request body must be a JSON object of parameters: "
            "Expected `object`, got `array`",
        ),
    ],
)
def test_describe_validation_error(
    params: list[str], body: bytes, expected: str
) -> None:
    assert _error([P[p] for p in params], body) == expected


def test_describe_validation_error_custom_noun() -> None:
    struct = args_struct("e", [Param("code", int)])
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(b"{}", type=struct)
    assert describe_validation_error(info.value, what="field") == (
        "missing required field 'code'"
    )


def test_keyword_only_struct_accepts_required_after_default() -> None:
    params = [
        Param("a", int, 1),
        Param("b", str, kind=inspect.Parameter.KEYWORD_ONLY),
    ]
    assert _error(params, b'{"a": 2}', kw_only=True) == (
        "missing required parameter 'b'"
    )


def test_stacked_method_decorators_keep_each_option() -> None:
    import autonats
    from autonats.contract.declare import method_options

    @autonats.oneway
    @autonats.method(concurrency=2)
    @autonats.method(timeout=30)
    async def notify(self: object) -> None: ...

    options = method_options(notify)
    assert (options.timeout, options.concurrency, options.oneway) == (30, 2, True)
