"""Versioned subjects on a real nats-server: two major versions served side by
side, each client pinned to its own; and within one major version, an older
client against a newer handler and a newer client against an older handler
for every change ``autonats breaking`` calls compatible."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import autonats
import nats.aio.client
import pytest

import compat_new
import compat_new_nats
import compat_old
import compat_old_nats
from compat_impl import NewCompat, OldCompat
from support import ServeProcess
from ver_api_nats import (
    AccountsV1Client,
    AccountsV1Handler,
    AccountsV2Client,
    AccountsV2Handler,
)
from ver_impl import AccountsV1Impl, AccountsV2Impl

VERSIONING = Path(__file__).resolve().parent

pytestmark = pytest.mark.timeout(60)


# -- two major versions side by side --------------------------------------------


async def test_both_majors_served_by_one_process_each_client_pinned(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    v2 = AccountsV2Impl()
    async with (
        AccountsV1Handler(nc, AccountsV1Impl(), prefix=prefix),
        AccountsV2Handler(nc, v2, prefix=prefix),
    ):
        one = AccountsV1Client(nc, prefix=prefix)
        two = AccountsV2Client(nc, prefix=prefix)
        assert await one.balance("a") == 1250
        balance = await two.balance("a")
        assert (balance.cents, balance.currency) == (1250, "EUR")
        assert await one.version() == "1.4.2"
        assert await two.version() == "2.0.0"
        await two.close("a")
        assert v2.closed == ["a"]
        found = await autonats.discover(nc, "accounts", timeout=2)
    by_version = {i.version: i for i in found if i.prefix == prefix}
    assert set(by_version) == {"1.4.2", "2.0.0"}
    assert {e.subject for e in by_version["2.0.0"].endpoints} == {
        f"{prefix}.accounts.v2.balance",
        f"{prefix}.accounts.v2.version",
        f"{prefix}.accounts.v2.close",
    }


async def test_a_major_nobody_serves_is_no_responders_naming_it(
    nc: nats.aio.client.Client, prefix: str
) -> None:
    async with AccountsV1Handler(nc, AccountsV1Impl(), prefix=prefix):
        with pytest.raises(autonats.NoRespondersError) as info:
            await AccountsV2Client(nc, prefix=prefix).balance("a")
    message = str(info.value)
    assert f"{prefix}.accounts.v2.balance" in message
    assert "accounts v2 (version 2.x)" in message


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autonats.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=VERSIONING,
        check=False,
    )


async def test_one_autonats_serve_serves_both_and_the_cli_tells_them_apart(
    nats_url: str, prefix: str, tmp_path: Path
) -> None:
    served = ServeProcess(
        "ver_impl:AccountsV1Impl",
        "ver_impl:AccountsV2Impl",
        "--server",
        nats_url,
        "--prefix",
        prefix,
        cwd=VERSIONING,
        log=tmp_path / "serve.log",
    )
    try:
        await served.wait_serving("Ctrl-C to stop")
        assert "serving accounts 1.4.2" in served.output
        assert "serving accounts 2.0.0" in served.output
        ls = await asyncio.to_thread(
            _cli, "ls", "--json", "--prefix", prefix, "--server", nats_url
        )
        assert ls.returncode == 0, ls.stderr
        rows = json.loads(ls.stdout)
        assert [(r["prefix"], r["name"], r["version"]) for r in rows] == [
            (prefix, "accounts", "1.4.2"),
            (prefix, "accounts", "2.0.0"),
        ]
        call = ("--prefix", prefix, "--server", nats_url)
        ambiguous = await asyncio.to_thread(
            _cli, "call", "accounts.balance", "account=a", *call
        )
        assert ambiguous.returncode == 1
        assert "several major versions" in ambiguous.stderr
        assert "accounts.v1.balance, accounts.v2.balance" in ambiguous.stderr
        v2 = await asyncio.to_thread(
            _cli, "call", "accounts.v2.balance", "account=a", *call
        )
        assert v2.returncode == 0, v2.stderr
        assert json.loads(v2.stdout) == {"cents": 1250, "currency": "EUR"}
        v1 = await asyncio.to_thread(_cli, "call", "accounts.v1.version", *call)
        assert json.loads(v1.stdout) == "1.4.2"
        stats = await asyncio.to_thread(
            _cli,
            "stats",
            "accounts.v2",
            "--json",
            "--prefix",
            prefix,
            "--server",
            nats_url,
        )
        assert [i["version"] for i in json.loads(stats.stdout)] == ["2.0.0"]
    finally:
        assert await served.stop() == 0, served.output


# -- compatible changes within one major version, both ways ----------------------


@pytest.fixture
async def old_handler_new_client(
    nc: nats.aio.client.Client, prefix: str
) -> AsyncIterator[compat_new_nats.CompatClient]:
    # A prefix of its own: the other fixture's handler serves the same subjects.
    mine = f"{prefix}.old"
    async with compat_old_nats.CompatHandler(nc, OldCompat(), prefix=mine):
        yield compat_new_nats.CompatClient(nc, prefix=mine)


@pytest.fixture
async def new_handler_old_client(
    nc: nats.aio.client.Client, prefix: str
) -> AsyncIterator[compat_old_nats.CompatClient]:
    mine = f"{prefix}.new"
    async with compat_new_nats.CompatHandler(nc, NewCompat(), prefix=mine):
        yield compat_old_nats.CompatClient(nc, prefix=mine)


async def test_a_new_optional_parameter(
    old_handler_new_client: compat_new_nats.CompatClient,
    nc: nats.aio.client.Client,
    prefix: str,
) -> None:
    # A newer client's extra argument is ignored by the older handler...
    assert await old_handler_new_client.greet("ada", "?") == "hello ada"
    # ...and an older client's call gets the newer handler's default.
    async with compat_new_nats.CompatHandler(nc, NewCompat(), prefix=f"{prefix}n"):
        old = compat_old_nats.CompatClient(nc, prefix=f"{prefix}n")
        assert await old.greet("ada") == "hello ada!"


async def test_a_new_optional_field_of_an_argument(
    old_handler_new_client: compat_new_nats.CompatClient,
    new_handler_old_client: compat_old_nats.CompatClient,
) -> None:
    item = compat_new.Item(name="abc", tags=["x", "y"])
    assert await old_handler_new_client.store(item) == 3  # the field is ignored
    assert await new_handler_old_client.store(compat_old.Item(name="abc")) == 3


async def test_a_new_optional_field_of_a_result(
    old_handler_new_client: compat_new_nats.CompatClient,
    new_handler_old_client: compat_old_nats.CompatClient,
) -> None:
    report = await old_handler_new_client.report()
    assert (report.total, report.average) == (3, 0.0)  # the default fills it
    assert await new_handler_old_client.report() == compat_old.Report(total=3)


async def test_a_new_declared_error(
    old_handler_new_client: compat_new_nats.CompatClient,
    new_handler_old_client: compat_old_nats.CompatClient,
) -> None:
    assert await old_handler_new_client.check(-1) == -1  # the old one never raises it
    # An older client does not know the class: it gets the code and the type.
    with pytest.raises(autonats.RemoteError) as info:
        await new_handler_old_client.check(-1)
    assert (info.value.code, info.value.type) == (422, "Rejected")


async def test_a_new_method_is_no_responders_on_an_older_handler(
    old_handler_new_client: compat_new_nats.CompatClient,
    new_handler_old_client: compat_old_nats.CompatClient,
) -> None:
    """Calls that existed before keep working; the new method needs a newer
    handler before clients use it (docs/versioning.md)."""
    with pytest.raises(autonats.NoRespondersError):
        await old_handler_new_client.ping()
    assert await new_handler_old_client.greet("x") == "hello x!"


async def test_a_new_enum_member_of_a_result_breaks_older_clients_only(
    old_handler_new_client: compat_new_nats.CompatClient,
    new_handler_old_client: compat_old_nats.CompatClient,
) -> None:
    """Why autonats breaking reports ENUM_MEMBER_ADDED for results: a newer
    client reads everything an older handler sends, but an older client cannot
    read the new member (update clients first, then handlers)."""
    assert await old_handler_new_client.paint(True) is compat_new.Color.GREEN
    assert await new_handler_old_client.paint(False) is compat_old.Color.RED
    with pytest.raises(autonats.ProtocolError):
        await new_handler_old_client.paint(True)


def test_the_checker_agrees() -> None:
    """The pair has exactly one change the checker does not call compatible."""
    result = _cli("breaking", "compat_new.py", "--against", "compat_old.py")
    assert result.returncode == 1
    rules = [line.split(": ")[1] for line in result.stdout.splitlines()]
    assert rules == ["ENUM_MEMBER_ADDED"]
