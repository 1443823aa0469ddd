"""Types the golden interfaces import from another module (first-party, not stdlib)."""

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
class Point:
    x: float
    y: float = 0.0


class Span(NamedTuple):
    start: datetime.datetime
    length: datetime.timedelta


class Tally(TypedDict):
    counts: dict[str, int]
    points: list[Point]


class Item(msgspec.Struct):
    id: uuid.UUID
    price: decimal.Decimal
    color: Color = Color.RED
    where: Point | None = None
    span: Span | None = None
    tally: Tally | None = None


@dataclasses.dataclass
class Crate:
    items: list[Item]
    label: str = ""


class Note(pydantic.BaseModel):
    text: str
    day: datetime.date
    tags: list[str] = []


class Order(pydantic.BaseModel):
    notes: list[Note]
    level: Level = Level.LOW
    ref: uuid.UUID | None = None
