"""The stream the benchmarks read: one ``Item`` (benchmarks/echo.py), n times.

``autonats generate benchmarks/feed.py`` writes feed_nats.py beside it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import autonats

from benchmarks.echo import Item


@autonats.service("bench-feed", version="1.0.0")
class FeedService(Protocol):
    """Streams what it is sent."""

    def items(self, n: int, item: Item) -> AsyncIterator[Item]: ...
