"""An implementation for ``autonats serve`` in the resilience tests."""

from __future__ import annotations

import res_api  # noqa: F401  (so that serve finds res_api_nats beside it)


class Healthy:
    """Answers every call."""

    async def work(self, n: int) -> int:
        return n

    async def guarded(self, n: int) -> int:
        return n
