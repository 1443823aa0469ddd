"""An interface written without ``from __future__ import annotations``, in the
older ``typing`` spelling."""

import datetime
from typing import Dict, List, Optional, Protocol, Tuple, Union

import autonats

from rt_types import Box, Pair


@autonats.service("rt-legacy")
class LegacyService(Protocol):
    async def pick(
        self, a: Optional[int], b: Union[int, str] = 0
    ) -> Tuple[Optional[int], Union[int, str]]: ...

    async def group(self, boxes: List[Box]) -> Dict[str, List[Pair]]: ...

    async def later(
        self, at: datetime.datetime, days: int = 1
    ) -> datetime.datetime: ...
