"""Shared fixtures: one real nats-server per test session, on a free loopback port."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.aio.client
import pytest
from autonats.testing import NatsServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# The example interface and its generated module are imported by tests as
# top-level modules, exactly as the demo imports them.
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """A nats-server for the whole session."""
    with NatsServer() as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    """``nats://127.0.0.1:<port>`` of the session's server."""
    return nats_server.url


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[nats.aio.client.Client]:
    """A connection of the test's own, closed after the test."""
    # nats-py retries the first connect forever with max_reconnect_attempts=0.
    conn = await nats.connect(
        nats_url, max_reconnect_attempts=1, reconnect_time_wait=0.1
    )
    try:
        yield conn
    finally:
        await conn.close()


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def _tracer_provider() -> object:
    trace = sys.modules.get("opentelemetry.trace")
    return None if trace is None else trace._TRACER_PROVIDER


@pytest.fixture(autouse=True)
def _no_global_state_left() -> Iterator[None]:
    """Every test leaves the process as it found it: the environment, the
    working directory and OpenTelemetry's global tracer provider (which a
    module's fixture may set for its tests, and must take back)."""
    environ = _environ()
    cwd = os.getcwd()
    provider = _tracer_provider()
    yield
    # Collect now: what a test leaked (an unclosed connection) is reported
    # against that test, not against whichever test the collector runs in.
    gc.collect()
    assert _environ() == environ, "the test changed os.environ"
    assert os.getcwd() == cwd, "the test changed the working directory"
    assert _tracer_provider() is provider, "the test changed the tracer provider"


@pytest.fixture(autouse=True, scope="module")
def _no_tracer_provider_left() -> Iterator[None]:
    yield
    assert _tracer_provider() is None, "the module's tests left a tracer provider"
