"""Golden case for the TypeScript layout: lines too long for 80 columns at every
place a type can break, names TypeScript cannot take as they are, and keys
that need quotes. Its output must be what prettier writes."""

from __future__ import annotations

import datetime
import enum
from typing import Literal, NamedTuple, Protocol

import autonats
import msgspec

Mode = Literal[
    "a-rather-long-mode-name",
    "another-rather-long-mode",
    "and-a-third-one-to-overflow",
]


class Tone(enum.Enum):
    """String values with quotes in them."""

    SINGLE = "it's"
    DOUBLE = 'say "hi"'
    BOTH = "'\"'"
    ESCAPES = "tab\there\nnewline \\ backslash"
    CAFÉ = "café"


class Wide(msgspec.Struct, rename={"user_id": "user-id", "kind": "$kind"}):
    """Fields whose types overflow a line in every way they can."""

    mode: Mode
    modes: list[Mode]
    by_mode: dict[str, Mode]
    nested: dict[str, dict[str, list[Mode | None]]]
    maybe_a_very_long_field_name_here: int | datetime.datetime | list[Row] | None
    user_id: str
    kind: int
    café: str = ""


class Row(NamedTuple):
    a_long_label_for_the_first_column: Mode
    a_long_label_for_the_second_column: int
    third: str = ""


class TooLong(autonats.ServiceError):
    """Many fields: the constructor's object type breaks."""

    code = 422
    first_field_name: str
    second_field_name: Mode
    name: str
    stack: int
    café: str


@autonats.service("layout-stress", version="0.3.0")
class LayoutService(Protocol):
    """Signatures that break."""

    async def long_params(
        self,
        first_parameter_name: str,
        second_parameter_name: int,
        third: Wide | None = None,
    ) -> Wide: ...

    async def union_param(self, mode: Mode, other: Mode | None = None) -> None: ...

    async def long_return(self) -> list[Mode]: ...

    async def returns_union(self) -> Mode: ...

    async def returns_record(self) -> dict[str, Mode]: ...

    async def rows(self, rows: list[Row]) -> Row: ...

    async def reserved(
        self,
        default: int,
        new: str,
        function: bool,
        options: str,
        user_id: str,
        class_: int = 1,
    ) -> None:
        """Parameters JavaScript reserves get a trailing underscore; the call
        options move aside for a parameter called options."""
        ...

    async def a_method_with_a_name_long_enough_to_push_the_call_onto_lines(
        self, first_argument: str, second_argument: str
    ) -> str: ...

    async def tone(self, tone: Tone = Tone.DOUBLE) -> dict[Tone, int]: ...

    @autonats.method(timeout=0.25)
    async def fast(self) -> bool: ...
