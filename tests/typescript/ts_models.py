"""Types of the TypeScript client's test contract: one of every supported shape,
in a module of their own (as a user's shared models would be)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import typing
import uuid
from typing import Literal, NamedTuple, TypedDict

import msgspec
import pydantic


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Address:
    street: str
    city: str
    country: str = "NL"


class Point(NamedTuple):
    lat: float
    lon: float


class Counts(TypedDict, total=False):
    seen: int
    kept: int


class Tally(TypedDict):
    total: int
    counts: Counts


class Note(pydantic.BaseModel):
    text: str
    day: datetime.date
    tags: list[str] = []
    # pydantic's JSON mode writes bytes as UTF-8 text, not base64.
    attachment: bytes = b""


class Circle(msgspec.Struct, tag=True):
    radius: float


class Square(msgspec.Struct, tag=True):
    side: float


class Pair(msgspec.Struct, array_like=True):
    """Encoded as an array: ``[left, right]``."""

    left: str
    right: int = 0


class Renamed(msgspec.Struct, rename="camel"):
    first_name: str
    user_id: str = msgspec.field(name="user-id", default="")


class Tick(msgspec.Struct):
    """One item of the test streams: its stream's key and its number, from 0."""

    key: str
    n: int


class Tree(msgspec.Struct):
    label: str
    children: list[Tree] = []


class Everything(msgspec.Struct):
    """One field of every supported type."""

    text: str
    integer: int
    real: float
    flag: bool
    nothing: None
    raw: bytes
    items: list[int]
    pair: tuple[str, int]
    rest: tuple[float, ...]
    unique: set[str]
    frozen: frozenset[int]
    by_name: dict[str, list[int]]
    by_color: dict[Color, int]
    by_number: dict[int, str]
    mode: Literal["a", "b"]
    small: Literal[1, 2]
    color: Color
    level: Level
    at: datetime.datetime
    naive: datetime.datetime
    day: datetime.date
    clock: datetime.time
    span: datetime.timedelta
    key: uuid.UUID
    amount: decimal.Decimal
    address: Address
    point: Point
    tally: Tally
    note: Note
    shapes: list[Circle | Square]
    tuple_like: Pair
    renamed: Renamed
    tree: Tree
    either: int | str
    maybe: Address | None
    anything: typing.Any
    optional: str = "default"
