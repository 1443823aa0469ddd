"""Golden case (regression): names that clash with generated code.

A parameter named ``result`` is redefined by the generated ``result: T = ...``
(mypy: no-redef); a parameter named like a module hides that module in the
generated ``result: datetime.date`` annotation (mypy: name-defined).

A method is a name in the generated client's class body: in the signatures
after it, a method named like the interface module (``shadowing``) or a
builtin (``list``) would mean the method, not the module or the type
(mypy: name-defined, valid-type). The generator imports and writes those
under other names.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
from typing import Protocol

import autonats


@dataclasses.dataclass
class Stamp:
    day: datetime.date


@autonats.service("shadow")
class ShadowService(Protocol):
    async def store(self, result: int) -> str: ...

    async def parse(self, datetime: str) -> datetime.date: ...

    async def shadowing(self) -> Stamp: ...

    async def later(self, stamp: Stamp) -> Stamp: ...

    async def list(self) -> builtins.list[int]: ...

    async def count(self, items: builtins.list[int]) -> int: ...
