"""Fixtures of the NATS Services API tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from discovery_support import Served


@pytest.fixture(scope="module")
def served(nats_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Handler processes for one test module (start them with ``served.start(n)``)."""
    handlers = Served(nats_url, tmp_path_factory.mktemp("handlers"))
    try:
        yield handlers
    finally:
        handlers.stop()


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"nats://127.0.0.1:{port}"
