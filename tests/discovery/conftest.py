"""Fixtures of the NATS Services API tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from discovery_support import Served
from support import free_port


@pytest.fixture
def served(nats_url: str, tmp_path: Path) -> Iterator[Served]:
    """Handler processes of one test (start them with ``served.start(n)``),
    stopped (drained) when it ends."""
    handlers = Served(nats_url, tmp_path)
    try:
        yield handlers
    finally:
        handlers.stop()


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    return f"nats://127.0.0.1:{free_port()}"
