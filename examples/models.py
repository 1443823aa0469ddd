"""Types the user service shares with other services (types may live in any module)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Literal, NamedTuple, TypedDict

import msgspec
import pydantic


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    ADMIN = "admin"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Address:
    street: str
    city: str
    country: str = "NL"


class User(msgspec.Struct):
    id: str
    name: str
    role: Role = Role.CUSTOMER
    email: str | None = None
    address: Address | None = None
    created: datetime.datetime = datetime.datetime(
        2026, 1, 1, tzinfo=datetime.timezone.utc
    )
    tags: frozenset[str] = frozenset()


class UserEvent(msgspec.Struct):
    """Something that happened to a user; ``seq`` numbers every event from 1."""

    seq: int
    kind: Literal["created", "deleted"]
    user: User


class Point(NamedTuple):
    lat: float
    lon: float


class Stats(TypedDict):
    users: int
    by_role: dict[str, int]


class Profile(pydantic.BaseModel):
    user_id: str
    bio: str = ""
    links: list[str] = []
