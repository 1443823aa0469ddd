"""Fixtures of the runtime behaviour tests: a handler-side connection and a
subject prefix of each test's own, on the session's real nats-server."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import nats.aio.client
import pytest

RUNTIME = Path(__file__).resolve().parent

# The test interfaces and their generated modules are imported as top-level
# modules, as a user's project would import its own.
if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))


@pytest.fixture
async def hnc(nats_url: str) -> AsyncIterator[nats.aio.client.Client]:
    """A second connection, for handlers, so requests really cross the server.

    Its ``flush()`` makes two round trips: nats-py 2.16 writes a flush's PING
    straight to the socket, ahead of SUBs still queued for its flusher task, so
    one round trip does not prove a handler's subscriptions are live (see
    test_rt_wire.py::test_a_call_right_after_run_finds_the_handler). The
    second PING is sent after the flusher has written them.
    """
    conn = await nats.connect(nats_url, max_reconnect_attempts=0)
    flush_once = conn.flush

    async def flush_twice(timeout: int = 10) -> None:
        await flush_once(timeout)
        await flush_once(timeout)

    conn.flush = flush_twice  # type: ignore[method-assign]
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test uses, so handlers never meet across tests."""
    return f"rt{uuid.uuid4().hex[:12]}"
