"""Fixtures of the circuit breaker and outlier ejection tests: a subject prefix
of each test's own, on the session's real nats-server (helpers are in
res_support.py)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

RESILIENCE = Path(__file__).resolve().parent

# The test interface and its generated module are imported as top-level
# modules, as a user's project would import its own.
if str(RESILIENCE) not in sys.path:
    sys.path.insert(0, str(RESILIENCE))


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test uses: handlers of other tests never
    count as peers (peers serve the same subject)."""
    return f"res{uuid.uuid4().hex[:12]}"
