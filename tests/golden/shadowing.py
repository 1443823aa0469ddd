"""Golden case (regression): parameter names that clash with generated code.

A parameter named ``result`` is redefined by the generated ``result: T = ...``
(mypy: no-redef); a parameter named like a module hides that module in the
generated ``result: datetime.date`` annotation (mypy: name-defined).
"""

from __future__ import annotations

import datetime
from typing import Protocol

import autonats


@autonats.service("shadow")
class ShadowService(Protocol):
    async def store(self, result: int) -> str: ...

    async def parse(self, datetime: str) -> datetime.date: ...
