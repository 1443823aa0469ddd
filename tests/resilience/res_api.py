"""The interface of the circuit breaker and outlier ejection tests.

``work`` has no breaker of its own (a client may add one); ``guarded`` declares
one tuned to open within a second, so that a test sees it through the
generated client.
"""

from __future__ import annotations

from typing import Protocol

import autonats


class Refused(autonats.ServiceError):
    """A declared error with an internal error's code: still a business answer."""

    code = 500


@autonats.service("res", version="1.0.0")
class ResService(Protocol):
    """Fails on request: healthy, broken, refusing or slow, per instance."""

    async def work(self, n: int) -> int: ...

    @autonats.method(
        timeout=2.0,
        breaker=autonats.Breaker(min_calls=10, window=2.0, open_for=1.0, probes=2),
    )
    async def guarded(self, n: int) -> int: ...
