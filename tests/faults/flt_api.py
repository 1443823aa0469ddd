"""Interfaces of the fault tests.

``flt-work`` is served by ``autonats serve flt_impl:Work`` processes (request/reply
and oneway calls, plus ``take``, the target of bad input); ``flt-jobs`` holds the
durable oneway call and needs JetStream; ``flt-codec`` is never served: the codec
property tests build its argument Struct.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import uuid
from typing import Any, Literal, Protocol

import autonats


class Refused(autonats.ServiceError):
    """The declared error ``WorkService.fail`` raises on every call."""

    code = 409
    n: int


class Color(str, enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = ""


@autonats.service("flt-work")
class WorkService(Protocol):
    """Request/reply and oneway calls of the fault tests."""

    async def echo(self, n: int) -> int: ...

    async def pid(self) -> int: ...

    @autonats.method(timeout=10.0, concurrency=64)
    async def slow(self, seconds: float, marker: str = "") -> int: ...

    async def fail(self, n: int) -> int: ...

    @autonats.oneway
    async def note(self, n: int) -> None: ...

    @autonats.method(concurrency=64)
    async def take(
        self,
        name: str,
        count: int,
        tags: list[str],
        scores: dict[str, float],
        payload: Any = None,
    ) -> int: ...


@autonats.service("flt-jobs")
class JobService(Protocol):
    """The durable oneway call of the fault tests."""

    @autonats.method(timeout=1.0, concurrency=64)
    @autonats.oneway(durable=True)
    async def job(self, n: int, fail: bool = False) -> None: ...

    async def pid(self) -> int: ...


@autonats.service("flt-codec")
class CodecService(Protocol):
    """Never served: the codec property tests decode its arguments."""

    async def typed(
        self,
        i: int,
        f: float,
        s: str,
        b: bytes,
        xs: list[int],
        m: dict[str, float],
        o: int | None,
        when: datetime.datetime,
        key: uuid.UUID,
        color: Color,
        point: Point,
        tag: Literal["a", "b"],
        pair: tuple[int, str] = (0, ""),
    ) -> int: ...
