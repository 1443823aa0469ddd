"""Types the runtime test services share, kept in a module of their own so the
generated code has to import them from somewhere other than the interface."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from typing import NamedTuple, TypedDict

import msgspec
import pydantic


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Box:
    label: str
    size: int = 1
    tags: list[str] = dataclasses.field(default_factory=list)


class Pair(NamedTuple):
    left: int
    right: str


class Meta(TypedDict):
    owner: str
    count: int


class Model(pydantic.BaseModel):
    name: str
    score: float = 0.0
    born: datetime.date | None = None
    labels: list[str] = []


class Record(msgspec.Struct):
    id: uuid.UUID
    price: decimal.Decimal
    at: datetime.datetime
    color: Color = Color.RED
    level: Level = Level.LOW
    box: Box | None = None
    pairs: list[Pair] = []
    meta: Meta | None = None
    model: Model | None = None


class Seqs(msgspec.Struct):
    items: list[int]
    pair: tuple[str, int]
    many: tuple[float, ...]
    names: set[str]
    frozen: frozenset[int]


class Moment(msgspec.Struct):
    at: datetime.datetime
    day: datetime.date
    clock: datetime.time
    span: datetime.timedelta


class Nest(msgspec.Struct):
    v: dict[str, list[tuple[Pair, Box | None]]]


class Args(msgspec.Struct):
    a: int
    b: str
    c: tuple[int, ...]
    d: Color
    e: bool
