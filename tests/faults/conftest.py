"""Fixtures of the fault tests: ``autonats serve`` processes, a prefix of each
test's own, and client connections that ride reconnects (helpers are in
flt_support.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import nats.aio.client
import pytest

from flt_support import FAULTS, RIDE_RECONNECTS, ServeProcess, Spawn


@pytest.fixture
def spawn(prefix: str, tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(target, url, *args, **env)`` starts ``autonats serve TARGET`` on
    ``url`` (``""``: an embedded server) with the test's prefix (``args``: more
    of its options); all are killed after the test."""
    started: list[ServeProcess] = []

    def start(target: str, url: str, *args: str, **env: str) -> ServeProcess:
        served = ServeProcess(
            target,
            *(["--server", url] if url else []),
            "--prefix",
            prefix,
            *args,
            cwd=FAULTS,
            log=tmp_path / f"serve{len(started)}.log",
            env=env,
        )
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test uses."""
    return f"flt{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def connect() -> AsyncIterator[Callable[..., Awaitable[nats.aio.client.Client]]]:
    """``await connect(*urls, **options)``: a connection riding reconnects, closed after the test."""
    opened: list[nats.aio.client.Client] = []

    async def silent(*_: object) -> None:
        pass  # disconnects are the point of these tests

    async def open_(*urls: str, **options: Any) -> nats.aio.client.Client:
        settings = {**RIDE_RECONNECTS, "error_cb": silent, **options}
        nc = await nats.connect(servers=list(urls), **settings)
        opened.append(nc)
        return nc

    yield open_
    for nc in opened:
        await nc.close()
