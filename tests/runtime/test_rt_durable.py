"""Durable oneway calls in one process: who may change the service's streams, and
a dead-letter publish that fails does not strand the call."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import autonats
import nats
import nats.aio.client
import nats.js.errors
import pytest
from autonats.contract import MethodOptions, spec, wire
from autonats.runtime import Handler, durable
from autonats.runtime.client import Client
from autonats.testing import NatsServer

from rt_helpers import eventually

pytestmark = pytest.mark.timeout(60)


class JobsV1(Protocol):
    async def touch(self, n: int) -> None: ...


class JobsV2(Protocol):
    async def touch(self, n: int) -> None: ...

    async def sync(self, n: int) -> None: ...


V1 = spec.build(
    JobsV1, name="jobs", methods={"touch": MethodOptions(oneway=True, durable=True)}
)
V2 = spec.build(
    JobsV2,
    name="jobs",
    methods={
        "touch": MethodOptions(oneway=True, durable=True),
        "sync": MethodOptions(oneway=True, durable=True),
    },
)


class Jobs:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[tuple[str, int]] = []
        self.fail = fail

    async def touch(self, n: int) -> None:
        self.seen.append(("touch", n))
        if self.fail:
            raise RuntimeError("always fails")

    async def sync(self, n: int) -> None:
        self.seen.append(("sync", n))


@pytest.fixture(scope="module")
def js_server() -> Iterator[NatsServer]:
    with NatsServer(jetstream=True) as server:
        yield server


@pytest.fixture
async def jnc(js_server: NatsServer) -> AsyncIterator[nats.aio.client.Client]:
    conn = await nats.connect(js_server.url, max_reconnect_attempts=1)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def prefix() -> str:
    return f"dur{uuid.uuid4().hex[:10]}"


async def subjects(nc: nats.aio.client.Client, prefix: str) -> list[str]:
    info = await nc.jetstream().stream_info(wire.stream_name(prefix, "jobs"))
    return sorted(info.config.subjects or [])


async def test_an_older_client_never_narrows_the_stream(
    jnc: nats.aio.client.Client, prefix: str
) -> None:
    impl = Jobs()
    async with Handler.for_spec(V2)(jnc, impl, prefix=prefix):
        assert await subjects(jnc, prefix) == [
            f"{prefix}.jobs.sync",
            f"{prefix}.jobs.touch",
        ]
        # A client built from the older declaration publishes its one method...
        await Client(jnc, V1, prefix=prefix).publish("touch", [1])
        await eventually(lambda: impl.seen == [("touch", 1)], what="the call served")
        # ...and leaves the newer handler's subject in place.
        assert await subjects(jnc, prefix) == [
            f"{prefix}.jobs.sync",
            f"{prefix}.jobs.touch",
        ]
        await Client(jnc, V2, prefix=prefix).publish("sync", [2])
        await eventually(lambda: ("sync", 2) in impl.seen, what="sync served")


async def test_an_older_handler_never_narrows_the_stream(
    jnc: nats.aio.client.Client, prefix: str
) -> None:
    async with Handler.for_spec(V2)(jnc, Jobs(), prefix=prefix):
        pass
    async with Handler.for_spec(V1)(jnc, Jobs(), prefix=prefix):
        assert await subjects(jnc, prefix) == [
            f"{prefix}.jobs.sync",
            f"{prefix}.jobs.touch",
        ]


async def test_a_client_of_a_method_the_stream_lacks_gets_a_clear_error(
    jnc: nats.aio.client.Client, prefix: str
) -> None:
    # The stream exists with only v1's subject (a v1 handler created it).
    async with Handler.for_spec(V1)(jnc, Jobs(), prefix=prefix):
        pass
    with pytest.raises(autonats.ProtocolError) as info:
        await Client(jnc, V2, prefix=prefix).publish("sync", [1])
    assert f"{prefix}.jobs.sync" in str(info.value)
    assert "no handler of jobs.sync has started" in str(info.value)
    assert await subjects(jnc, prefix) == [f"{prefix}.jobs.touch"]


async def test_a_client_creates_a_missing_stream_and_its_calls_wait(
    jnc: nats.aio.client.Client, prefix: str
) -> None:
    await Client(jnc, V1, prefix=prefix).publish("touch", [7])
    impl = Jobs()
    async with Handler.for_spec(V1)(jnc, impl, prefix=prefix):
        await eventually(lambda: impl.seen == [("touch", 7)], what="the stored call")


async def test_a_failing_dead_letter_publish_keeps_the_call(
    jnc: nats.aio.client.Client, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dead-letter stream is gone when a call fails its last delivery: the
    call stays in the work queue and lands in the dead letters once they are back."""
    monkeypatch.setattr(durable, "BACKOFF", 0.05)
    monkeypatch.setattr(durable, "BACKOFF_MAX", 0.2)
    js = jnc.jetstream()
    impl = Jobs(fail=True)
    handler = Handler.for_spec(V1)(jnc, impl, prefix=prefix)
    dead = f"{wire.stream_name(prefix, 'jobs')}_dead"
    async with handler:
        await js.delete_stream(dead)
        await Client(jnc, V1, prefix=prefix).publish("touch", [9])
        # Five deliveries fail, the dead-letter publish fails, the call is
        # delivered again (and fails again) instead of being stranded.
        await eventually(
            lambda: len(impl.seen) > durable.MAX_DELIVER + 1,
            timeout=20,
            what="deliveries past the last one",
        )
        work = await js.stream_info(wire.stream_name(prefix, "jobs"))
        assert work.state.messages == 1
    # A handler starting again recreates the dead-letter stream; the call lands there.
    async with Handler.for_spec(V1)(jnc, impl, prefix=prefix):

        async def dead_letters() -> int:
            try:
                return (await js.stream_info(dead)).state.messages
            except nats.js.errors.NotFoundError:
                return 0

        for _ in range(200):
            if await dead_letters() == 1:
                break
            await asyncio.sleep(0.1)
        assert await dead_letters() == 1
        work = await js.stream_info(wire.stream_name(prefix, "jobs"))
        assert work.state.messages == 0


async def test_autonats_call_stores_a_durable_call(
    js_server: NatsServer, jnc: nats.aio.client.Client, prefix: str
) -> None:
    impl = Jobs()
    async with Handler.for_spec(V1)(jnc, impl, prefix=prefix):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "autonats.cli",
            "call",
            "jobs.touch",
            "n=3",
            "--prefix",
            prefix,
            "--server",
            js_server.url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        stream = wire.stream_name(prefix, "jobs")
        assert (
            out.decode().strip()
            == f"stored in stream {stream} (durable oneway: no reply)"
        )
        await eventually(
            lambda: impl.seen == [("touch", 3)], what="the stored call served"
        )
