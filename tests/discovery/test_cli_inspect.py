"""``autonats ls / info / stats / call`` against handlers started by ``autonats serve``.

Each test starts the handler processes it needs and makes its own calls.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nats
import pytest

from discovery_support import EXAMPLES, Served, check, cli, gather
from support import ServeProcess

pytestmark = pytest.mark.timeout(90)


def _user_rows(url: str) -> list[dict[str, object]]:
    result = cli("ls", "--json", "--server", url)
    assert result.returncode == 0, result.stderr
    return [row for row in json.loads(result.stdout) if row["name"] == "user"]


def test_one_instance(served: Served, nats_url: str) -> None:
    served.start(1)
    (row,) = _user_rows(nats_url)
    assert row["instances"] == 1
    assert row["version"] == "1.0.0"
    assert row["endpoints"] == 11

    table = cli("ls", "--server", nats_url)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == [
        "PREFIX",
        "NAME",
        "VERSION",
        "INSTANCES",
        "ENDPOINTS",
        "REQUESTS",
        "ERRORS",
        "AVG",
    ]
    assert any(
        line.split()[:5] == ["autonats", "user", "1.0.0", "1", "11"] for line in lines
    )
    assert row["prefix"] == "autonats"

    info = cli("info", "user", "--server", nats_url)
    assert info.returncode == 0, info.stderr
    assert "get_by_id(id: str) -> User" in info.stdout
    assert "autonats.user.v1.get_by_id, queue q, timeout 5s" in info.stdout
    assert "search(query: str, limit: int = 10, roles: set[Role] | None = null)" in (
        info.stdout
    )
    assert "touch(id: str) -> None" in info.stdout
    assert "oneway" in info.stdout
    assert "watch(since: int = 0) -> AsyncIterator[UserEvent]" in info.stdout
    assert (
        "autonats.user.v1.watch, queue q, stream, timeout 60s per item" in info.stdout
    )
    assert "Users of the shop." in info.stdout


def _make_calls(url: str) -> None:
    """2 creates, 2 get_by_id of a missing user (404), 1 rebuild that fails (500)."""
    for args in (
        ["user.create", "name=Ada"],
        ["user.create", "name=Bob"],
        ["user.get_by_id", "id=41"],
        ["user.get_by_id", "id=42"],
        ["user.rebuild", "full=true"],
    ):
        cli("call", *args, "--server", url)


def test_call_prints_the_reply(served: Served, nats_url: str) -> None:
    served.start(1)
    result = cli("call", "user.create", '{"name": "Ada"}', "--server", nats_url)
    assert result.returncode == 0, result.stderr
    user = json.loads(result.stdout)
    assert user["name"] == "Ada"
    assert user["role"] == "customer"

    pairs = cli("call", "user.create", "name=Bob", 'tags=["x"]', "--server", nats_url)
    assert pairs.returncode == 0, pairs.stderr
    assert json.loads(pairs.stdout)["tags"] == ["x"]

    # id=42 is the string "42": the request schema says id is a str.
    missing = cli("call", "user.get_by_id", "id=42", "--server", nats_url)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.strip() == (
        'error 404 UserNotFound: no user with id 42 {"id": "42"}'
    )

    as_json = cli("call", "user.get_by_id", "id=42", "--json", "--server", nats_url)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {
        "type": "UserNotFound",
        "code": 404,
        "message": "no user with id 42",
        "fields": {"id": "42"},
    }

    crash = cli("call", "user.rebuild", "full=true", "--server", nats_url)
    assert crash.returncode == 1
    assert crash.stderr.strip() == "error 500 InternalError: internal error"


def test_call_of_a_stream_prints_each_item_on_a_line(
    served: Served, nats_url: str
) -> None:
    served.start(1)
    for name in ("Ada", "Bob"):
        assert (
            cli("call", "user.create", f"name={name}", "--server", nats_url).returncode
            == 0
        )
    # A watch never ends: it stops when no item comes within the timeout.
    watch = cli("call", "user.watch", "--timeout", "1", "--server", nats_url)
    assert watch.returncode == 1
    lines = watch.stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["seq"], e["kind"], e["user"]["name"]) for e in events] == [
        (1, "created", "Ada"),
        (2, "created", "Bob"),
    ]
    assert (
        watch.stderr.strip() == "autonats: autonats.user.v1.watch: no item within 1 s"
    )
    since = cli(
        "call",
        "user.watch",
        "since=1",
        "--json",
        "--timeout",
        "1",
        "--server",
        nats_url,
    )
    assert [json.loads(line)["seq"] for line in since.stdout.splitlines()] == [2]


def test_call_of_a_oneway_method_says_it_was_sent(
    served: Served, nats_url: str
) -> None:
    served.start(1)
    result = cli("call", "user.touch", "id=1", "--server", nats_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sent (oneway: no reply)"
    as_json = cli("call", "user.touch", "id=1", "--json", "--server", nats_url)
    assert as_json.stdout.strip() == "null"


def test_serve_takes_a_file_path_and_says_nothing_of_disconnects_when_stopped(
    nats_url: str, tmp_path: Path
) -> None:
    """``autonats serve examples/shop.py:UserStore`` works from the project's
    root; a SIGTERM drain is no outage, so no "disconnected" line."""
    served = ServeProcess(
        "examples/shop.py:UserStore",
        "--server",
        nats_url,
        "--prefix",
        "from-root",
        cwd=EXAMPLES.parent,
        log=tmp_path / "serve.log",
    )
    try:
        served.wait_serving_sync("serving user", timeout=20)
        result = cli(
            "call", "user.get_all", "--prefix", "from-root", "--server", nats_url
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == []
    finally:
        assert served.stop_sync() == 0, served.output
    assert "stopped" in served.output
    assert "disconnected" not in served.output


def test_stats_of_one_instance(served: Served, nats_url: str) -> None:
    served.start(1)
    _make_calls(nats_url)
    result = cli("stats", "user", "--json", "--server", nats_url)
    assert result.returncode == 0, result.stderr
    (instance,) = json.loads(result.stdout)
    by_name = {e["name"]: e for e in instance["endpoints"]}
    assert (by_name["create"]["num_requests"], by_name["create"]["num_errors"]) == (
        2,
        0,
    )
    assert (
        by_name["get_by_id"]["num_requests"],
        by_name["get_by_id"]["num_errors"],
    ) == (
        2,
        2,
    )
    assert by_name["get_by_id"]["last_error"] == "404:no user with id 42"
    assert by_name["rebuild"]["last_error"] == "500:internal error"
    assert by_name["get_all"]["num_requests"] == 0
    table = cli("stats", "user", "--server", nats_url)
    assert table.returncode == 0, table.stderr
    assert "404:no user with id 42" in table.stdout
    assert table.stdout.startswith(f"user 1.0.0  id {instance['id']}")


async def test_two_instances(served: Served, nats_url: str) -> None:
    served.start(1)
    await asyncio.to_thread(_make_calls, nats_url)  # all on the first instance
    served.start(1)
    nc = await nats.connect(nats_url)
    try:
        pings = await gather(nc, "$SRV.PING.user", wait=0.3)
        for verb in ("PING", "INFO", "STATS"):
            for reply in await gather(nc, f"$SRV.{verb}", wait=0.3):
                check(verb, reply)
    finally:
        await nc.close()
    ids = {p["id"] for p in pings}
    assert len(ids) == 2

    (row,) = _user_rows(nats_url)
    assert row["instances"] == 2
    assert set(row["ids"]) == ids  # type: ignore[call-overload]
    assert row["requests"] == 5
    assert row["errors"] == 3

    info = cli("info", "user", "--json", "--server", nats_url)
    assert info.returncode == 0, info.stderr
    instances = json.loads(info.stdout)
    assert {i["id"] for i in instances} == ids
    for instance in instances:
        assert instance["endpoints"][0]["signature"] == "(id: str) -> User"

    stats = cli("stats", "user", "--json", "--server", nats_url)
    assert stats.returncode == 0, stats.stderr
    counted = json.loads(stats.stdout)
    assert {i["id"] for i in counted} == ids
    totals = sorted(sum(e["num_requests"] for e in i["endpoints"]) for i in counted)
    assert totals == [0, 5]

    text = cli("info", "user", "--server", nats_url)
    assert text.returncode == 0
    assert all(f"id {i}" in text.stdout for i in ids)


@pytest.mark.parametrize(
    "args",
    [
        ["ls"],
        ["info", "user"],
        ["stats", "user"],
        ["call", "user.get_by_id", "id=42"],
    ],
)
def test_no_server_is_one_line_without_traceback(
    args: list[str], closed_url: str
) -> None:
    result = cli(*args, "--server", closed_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line == (
        f"autonats: cannot connect to {closed_url}: "
        "connection refused (is nats-server running?)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["info", "no-such-service"],
            "no instance of service 'no-such-service' answered",
        ),
        (
            ["stats", "no-such-service"],
            "no instance of service 'no-such-service' answered",
        ),
        (
            ["call", "no-such-service.get", "id=1"],
            "no handler serves autonats.no-such-service.get",
        ),
    ],
)
def test_nothing_answering_is_one_line(
    args: list[str], message: str, nats_url: str
) -> None:
    result = cli(*args, "--server", nats_url, "--timeout", "0.3")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert message in line


def test_bad_arguments_are_one_line(nats_url: str) -> None:
    for args in (
        ["call", "user"],
        ["call", "user.get_by_id", "id"],
        ["call", "user.x", "[1]"],
    ):
        result = cli(*args, "--server", nats_url)
        assert result.returncode == 1, args
        assert len(result.stderr.splitlines()) == 1, result.stderr
