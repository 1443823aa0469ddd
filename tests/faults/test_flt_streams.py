"""Durable streams on one server: the replicas rule there, no JetStream at all,
the dead-letter stream's limits, and ``autonats dead ls/replay``."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import autonats
import autonats.runtime.durable as durable
import nats
import nats.aio.client
import nats.js.api
import pytest
from autonats.cli import main
from autonats.contract import wire
from autonats.testing import NatsServer

from flt_api_nats import FltJobsClient, FltJobsHandler
from flt_support import Spawn, eventually

pytestmark = [pytest.mark.timeout(90)]

SERVICE = "flt-jobs"


class Jobs:
    """flt-jobs in process: records every delivery; calls whose ``n`` is in
    ``broken`` raise."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, int]] = []
        self.broken: set[int] = set()

    async def job(self, n: int, fail: bool = False) -> None:
        call = autonats.current_call()
        assert call is not None
        self.deliveries.append((call.message_id, n))
        if n in self.broken:
            raise RuntimeError(f"job {n} is broken")

    async def pid(self) -> int:
        return 0

    def ids(self, n: int) -> set[str]:
        return {m for m, k in self.deliveries if k == n}


@pytest.fixture(scope="module")
def server() -> Any:
    with NatsServer(jetstream=True) as server:
        yield server


@pytest.fixture
async def nc(server: NatsServer) -> AsyncIterator[nats.aio.client.Client]:
    conn = await nats.connect(server.url, max_reconnect_attempts=1)
    yield conn
    await conn.close()


async def cli(*argv: str) -> int:
    """Run the ``autonats`` command line in a thread (it runs its own event loop)."""
    return int(await asyncio.to_thread(main, list(argv)))


# -- replicas on a single server ---------------------------------------------------


async def test_a_single_server_defaults_to_one_replica_and_refuses_three(
    nc: nats.aio.client.Client, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    js = nc.jetstream()
    with caplog.at_level(logging.INFO, logger="autonats.durable"):
        async with FltJobsHandler(nc, Jobs(), prefix=prefix):
            pass
    assert "durable streams get 1 replica by default" in caplog.text
    assert "has 1 server" in caplog.text
    for name in (
        wire.stream_name(prefix, SERVICE),
        wire.dead_stream_name(prefix, SERVICE),
    ):
        assert (await js.stream_info(name)).config.num_replicas == 1

    # Existing streams (an update) and new ones (a creation) alike.
    for where in (prefix, f"{prefix}new"):
        handler = FltJobsHandler(nc, Jobs(), prefix=where, replicas=3)
        with pytest.raises(autonats.AutonatsError) as failure:
            await handler.run()
        message = str(failure.value)
        assert "with 3 replicas failed" in message
        assert "a single JetStream server" in message
        assert "replicas > 1 not supported in non-clustered mode" in message
        assert "--replicas 1" in message
        assert not handler.running
    # Nothing was subscribed or changed: a plain handler still serves.
    assert (
        await js.stream_info(wire.stream_name(prefix, SERVICE))
    ).config.num_replicas == 1
    with pytest.raises(ValueError, match="replicas must be an integer from 1 to 5"):
        FltJobsHandler(nc, Jobs(), replicas=6)


async def test_serve_with_three_replicas_on_a_single_server_exits_with_one_line(
    spawn: Spawn, server: NatsServer
) -> None:
    served = spawn("flt_impl:Jobs", server.url, "--replicas", "3")
    await eventually(lambda: not served.alive, timeout=30, what="serve to give up")
    assert served.process.returncode == 1
    errors = [line for line in served.output.splitlines() if "autonats:" in line]
    assert len(errors) == 1, served.output
    assert errors[0].startswith(
        "autonats: cannot serve flt-jobs: setting up the durable"
    )
    assert "failed: creating stream" in errors[0]
    assert "with 3 replicas failed" in errors[0]
    assert "Traceback" not in served.output


async def test_without_jetstream_handlers_and_clients_fail_at_once(
    prefix: str,
) -> None:
    with NatsServer() as plain:
        conn = await nats.connect(plain.url, max_reconnect_attempts=1)
        try:
            loop = asyncio.get_running_loop()
            began = loop.time()
            handler = FltJobsHandler(conn, Jobs(), prefix=prefix)
            with pytest.raises(autonats.AutonatsError, match="need JetStream"):
                await handler.run()
            with pytest.raises(autonats.AutonatsError, match="need JetStream"):
                await FltJobsClient(conn, prefix=prefix).job(1)
            assert (
                loop.time() - began < 3
            )  # no retrying for a JetStream that is not there
        finally:
            await conn.close()


# -- dead letters ------------------------------------------------------------------


async def test_the_dead_letter_stream_keeps_its_limits(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    js = nc.jetstream()
    dead = wire.dead_stream_name(prefix, SERVICE)
    async with FltJobsHandler(nc, Jobs(), prefix=prefix):
        pass
    config = (await js.stream_info(dead)).config
    assert config.max_age == durable.DEAD_LETTER_MAX_AGE
    assert config.max_bytes == durable.DEAD_LETTER_MAX_BYTES
    assert config.discard == nats.js.api.DiscardPolicy.OLD

    # Limits given to a handler are applied to the existing stream...
    async with FltJobsHandler(
        nc, Jobs(), prefix=prefix, dead_letter_max_age=3600, dead_letter_max_bytes=8192
    ):
        pass
    config = (await js.stream_info(dead)).config
    assert (config.max_age, config.max_bytes) == (3600, 8192)
    # ...and kept by a handler that gives none (an operator's edit stays too).
    async with FltJobsHandler(nc, Jobs(), prefix=prefix):
        pass
    config = (await js.stream_info(dead)).config
    assert (config.max_age, config.max_bytes) == (3600, 8192)

    # Past its size, the oldest dead letters go first.
    subject = wire.dead_letter_subject(prefix, SERVICE, "job")
    for i in range(40):
        await js.publish(subject, b"x" * 1000, headers={"Nats-Msg-Id": f"fill-{i}"})
    state = (await js.stream_info(dead)).state
    assert state.bytes <= 8192
    assert 0 < state.messages < 40
    assert state.last_seq == 40 and state.first_seq > 1

    # A dead-letter stream without limits (an older autonats made it) gets the
    # defaults.
    config.max_age, config.max_bytes = 0, -1
    await js.update_stream(config)
    async with FltJobsHandler(nc, Jobs(), prefix=prefix):
        pass
    config = (await js.stream_info(dead)).config
    assert config.max_age == durable.DEAD_LETTER_MAX_AGE
    assert config.max_bytes == durable.DEAD_LETTER_MAX_BYTES
    with pytest.raises(ValueError, match="dead_letter_max_age"):
        FltJobsHandler(nc, Jobs(), dead_letter_max_age=0)


async def test_dead_letters_are_listed_and_replayed(
    nc: nats.aio.client.Client,
    server: NatsServer,
    prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(durable, "BACKOFF", 0.01)
    js = nc.jetstream()
    dead = wire.dead_stream_name(prefix, SERVICE)
    common = ["--server", server.url, "--prefix", prefix]
    failing = durable.MAX_DELIVER  # deliveries of a call that always fails

    async def dead_letters() -> int:
        return int((await js.stream_info(dead)).state.messages)

    async def settled(deliveries: int, letters: int) -> None:
        for _ in range(200):  # 10 s
            if len(jobs.deliveries) == deliveries and await dead_letters() == letters:
                await asyncio.sleep(0.2)  # and nothing more comes
                if len(jobs.deliveries) == deliveries:
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{len(jobs.deliveries)} deliveries and {await dead_letters()} dead "
            f"letters, not {deliveries} and {letters}"
        )

    jobs = Jobs()
    jobs.broken = {1, 2, 3}
    client = FltJobsClient(nc, prefix=prefix)
    async with FltJobsHandler(nc, jobs, prefix=prefix):
        for n in range(6):
            await client.job(n)
        await settled(3 + 3 * failing, 3)
        original = {n: jobs.ids(n) for n in (1, 2, 3)}
        assert all(len(ids) == 1 for ids in original.values())

        capsys.readouterr()
        assert await cli("dead", "ls", SERVICE, *common, "--json") == 0
        letters = json.loads(capsys.readouterr().out)
        assert [letter["body"]["n"] for letter in letters] == [1, 2, 3]
        for letter in letters:
            assert letter["method"] == "job"
            assert letter["subject"] == f"{prefix}.{SERVICE}.job"
            assert {letter["id"]} == original[letter["body"]["n"]]
            assert letter["error_code"] == 500
            assert letter["error"] == "internal error"
            assert letter["deliveries"] == failing
        assert await cli("dead", "ls", SERVICE, *common) == 0
        table = capsys.readouterr().out
        assert "500 internal error" in table
        assert f"3 dead letters shown; {dead} holds 3" in table
        assert "max age 7d, max bytes 256 MiB" in table

        # Nothing selected: refused, nothing replayed.
        assert await cli("dead", "replay", SERVICE, *common) == 1
        assert "--all" in capsys.readouterr().err

        # Fixed: a replayed dead letter is processed again, with its call id,
        # and leaves the dead-letter stream.
        jobs.broken = {3}
        first = letters[0]
        assert await cli("dead", "replay", SERVICE, str(first["seq"]), *common) == 0
        out = capsys.readouterr().out
        assert (
            f"replayed 1 dead letter of {SERVICE} (job: 1); removed from {dead}" in out
        )
        await settled(3 + 3 * failing + 1, 2)
        assert jobs.deliveries[-1] == (first["id"], 1)

        # --keep leaves it there; replaying the same letter again stores it once.
        second = letters[1]["id"]
        for _ in range(2):
            assert (
                await cli("dead", "replay", SERVICE, *common, "--id", second, "--keep")
                == 0
            )
            assert "replayed 1 dead letter" in capsys.readouterr().out
        await settled(3 + 3 * failing + 2, 2)
        assert jobs.deliveries[-1] == (second, 2)

        # --all: the kept letter is not stored again (de-duplicated), the still
        # broken call fails every delivery again and is dead-lettered again,
        # under its original id.
        assert await cli("dead", "replay", SERVICE, *common, "--all") == 0
        assert (
            f"replayed 2 dead letters of {SERVICE} (job: 2)" in capsys.readouterr().out
        )
        await settled(3 + 3 * failing + 2 + failing, 1)
        assert jobs.ids(3) == original[3]
        assert await cli("dead", "ls", SERVICE, *common, "--json") == 0
        [again] = json.loads(capsys.readouterr().out)
        assert {again["id"]} == original[3]
        assert again["body"]["n"] == 3
        assert again["seq"] > letters[2]["seq"]

    # No stream takes the call's subject any more: said, and the letter stays.
    await js.delete_stream(wire.stream_name(prefix, SERVICE))
    assert await cli("dead", "replay", SERVICE, str(again["seq"]), *common) == 1
    captured = capsys.readouterr()
    assert "replayed 0 dead letters" in captured.out
    assert captured.err == (
        f"autonats: dead letter {again['seq']}: no stream takes "
        f"{prefix}.{SERVICE}.job (is the method still durable, and its handler "
        "started?)\n"
    )
    assert await dead_letters() == 1


async def test_dead_commands_say_what_is_wrong(
    server: NatsServer, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--server", server.url, "--prefix", prefix]
    assert await cli("dead", "ls", "nothing-here", *common) == 1
    err = capsys.readouterr().err
    assert err.startswith("autonats: no dead-letter stream ")
    assert "nothing-here" in err
