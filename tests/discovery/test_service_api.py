"""Every handler is an ADR-32 service: $SRV.PING/INFO/STATS at all three levels."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
from typing import Any, Protocol

import autonats
import jsonschema
import nats.aio.client
import pytest
from autonats.contract import spec as spec_module
from autonats.contract.declare import MethodOptions
from autonats.runtime import Handler

from discovery_support import check, gather
from shop import UserStore
from users_nats import USER_SERVICE, UserClient, UserHandler

UserServer = Handler.for_spec(USER_SERVICE)


async def test_every_response_at_every_level_passes_the_official_schemas(
    nc: nats.aio.client.Client,
) -> None:
    # The generated handler passes instance metadata through.
    async with UserHandler(nc, UserStore(), metadata={"team": "shop"}) as handler:
        await UserClient(nc).create("Ada")
        instance = handler.service.id
        for verb in ("PING", "INFO", "STATS"):
            for subject in (
                f"$SRV.{verb}",
                f"$SRV.{verb}.user",
                f"$SRV.{verb}.user.{instance}",
            ):
                replies = await gather(nc, subject, wait=0.2)
                ours = [r for r in replies if r["id"] == instance]
                assert len(ours) == 1, subject
                for reply in replies:
                    check(verb, reply)
                assert ours[0]["type"] == f"io.nats.micro.v1.{verb.lower()}_response"
                assert ours[0]["name"] == "user"
                assert ours[0]["version"] == "1.0.0"
                assert ours[0]["metadata"] == {
                    "team": "shop",
                    "autonats.version": autonats.__version__,
                }


async def test_info_describes_every_endpoint(nc: nats.aio.client.Client) -> None:
    async with UserServer(nc, UserStore()) as handler:
        (info,) = await gather(nc, f"$SRV.INFO.user.{handler.service.id}")
    assert info["description"] == "Users of the shop."
    endpoints = {e["name"]: e for e in info["endpoints"]}
    assert list(endpoints) == list(USER_SERVICE.methods)
    get = endpoints["get_by_id"]
    assert get["subject"] == "autonats.user.v1.get_by_id"
    assert get["queue_group"] == "q"
    meta = get["metadata"]
    assert all(isinstance(v, str) for v in meta.values())
    assert meta["oneway"] == "false"
    assert meta["timeout_ms"] == "5000"
    # What the service declares it raises (errors=[UserNotFound]), no more.
    assert json.loads(meta["errors"]) == [{"type": "UserNotFound", "code": 404}]
    request = json.loads(meta["request_schema"])
    jsonschema.Draft202012Validator.check_schema(request)
    validator = jsonschema.Draft202012Validator(request)
    assert validator.is_valid({"id": "42"})
    assert not validator.is_valid({"id": 42})
    assert not validator.is_valid({})
    reply = jsonschema.Draft202012Validator(json.loads(meta["reply_schema"]))
    assert reply.is_valid({"id": "1", "name": "Ada"})
    assert not reply.is_valid({"id": "1"})
    assert endpoints["touch"]["metadata"]["oneway"] == "true"
    assert endpoints["rebuild"]["metadata"]["timeout_ms"] == "30000"
    # A stream: its reply schema is each item's; its timeout bounds each item.
    assert meta["stream"] == "false"
    watch = endpoints["watch"]["metadata"]
    assert (watch["stream"], watch["oneway"], watch["timeout_ms"]) == (
        "true",
        "false",
        "60000",
    )
    item = jsonschema.Draft202012Validator(json.loads(watch["reply_schema"]))
    user = {"id": "1", "name": "Ada"}
    assert item.is_valid({"seq": 1, "kind": "created", "user": user})
    assert not item.is_valid([{"seq": 1, "kind": "created", "user": user}])
    # A pydantic model's schema comes from pydantic.
    profile = json.loads(endpoints["profile"]["metadata"]["request_schema"])
    assert jsonschema.Draft202012Validator(profile).is_valid(
        {"profile": {"user_id": "1"}}
    )
    assert not jsonschema.Draft202012Validator(profile).is_valid({"profile": {}})


class Bare(Protocol):
    async def ping(self) -> None: ...


class BareImpl:
    async def ping(self) -> None:
        return None


async def test_a_service_without_docstring_or_metadata_still_conforms(
    nc: nats.aio.client.Client,
) -> None:
    bare = spec_module.build(Bare, name="bare", methods={"ping": MethodOptions()})
    async with Handler.for_spec(bare)(nc, BareImpl()) as handler:
        for verb in ("PING", "INFO", "STATS"):
            (reply,) = await gather(nc, f"$SRV.{verb}.bare.{handler.service.id}")
            check(verb, reply)
            assert reply["version"] == "0.0.0"
            assert reply["metadata"] == {"autonats.version": autonats.__version__}
            if verb == "INFO":
                assert reply["description"] == ""


async def _raw(nc: nats.aio.client.Client, method: str, body: Any) -> Any:
    msg = await nc.request(f"autonats.user.v1.{method}", json.dumps(body).encode(), 5)
    return msg


async def test_stats_count_every_call_and_every_error(
    nc: nats.aio.client.Client,
) -> None:
    async with UserServer(nc, UserStore(), concurrency=1, queue_size=0) as handler:
        client = UserClient(nc)
        await client.create("Ada")
        for _ in range(3):
            await client.get_all()
        for missing in ("41", "42"):
            with pytest.raises(autonats.ServiceError):
                await client.get_by_id(missing)
        with pytest.raises(autonats.InternalServerError):
            await client.rebuild(full=True)
        bad = await _raw(nc, "get_by_id", {"id": 42})
        assert bad.headers["Nats-Service-Error-Code"] == "400"
        # One call holds the only slot; with no queue the others are shed (503).
        replies = await asyncio.gather(
            *(_raw(nc, "sleep", {"seconds": 0.3}) for _ in range(3))
        )
        codes = sorted(
            (m.headers or {}).get("Nats-Service-Error-Code", "") for m in replies
        )
        assert codes == ["", "503", "503"]
        (stats,) = await gather(nc, f"$SRV.STATS.user.{handler.service.id}")
    check("STATS", stats)
    started = datetime.datetime.fromisoformat(stats["started"].replace("Z", "+00:00"))
    assert started.tzinfo is not None
    assert abs(started.timestamp() - time.time()) < 60
    by_name = {e["name"]: e for e in stats["endpoints"]}
    expected = {
        # name: (requests, errors, last error prefix)
        "create": (1, 0, ""),
        "get_all": (3, 0, ""),
        "get_by_id": (3, 3, "400:parameter 'id'"),
        "rebuild": (1, 1, "500:internal error"),
        # Shed requests never started: counted as shed, not as requests.
        "sleep": (1, 0, "503:"),
        "search": (0, 0, ""),
    }
    for name, (requests, errors, last) in expected.items():
        e = by_name[name]
        assert (e["num_requests"], e["num_errors"]) == (requests, errors), name
        assert e["last_error"].startswith(last), (name, e["last_error"])
        assert e["average_processing_time"] == (
            e["processing_time"] // requests if requests else 0
        )
        assert e["data"]["in_flight"] == 0
        assert e["data"]["queued"] == 0
    assert by_name["sleep"]["data"]["shed"] == 2
    assert by_name["sleep"]["processing_time"] >= 300_000_000
    # ...nor as 0 ms samples dragging the average down.
    assert by_name["sleep"]["average_processing_time"] >= 300_000_000
    declared = by_name["get_by_id"]
    assert declared["num_errors"] == 3  # two declared 404s and one 400


async def test_discover_gathers_info_and_stats(nc: nats.aio.client.Client) -> None:
    async with UserServer(nc, UserStore()) as handler:
        await UserClient(nc).create("Ada")
        began = time.monotonic()
        found = await autonats.discover(nc, "user", timeout=5.0)
        elapsed = time.monotonic() - began
        nothing = await autonats.discover(nc, "no-such-service", timeout=0.3)
    assert elapsed < 2.0  # ends a quiet period after the last reply, not at the timeout
    assert nothing == []
    (instance,) = [i for i in found if i.id == handler.service.id]
    assert instance.name == "user"
    assert instance.version == "1.0.0"
    assert instance.description == "Users of the shop."
    assert instance.has_info and instance.has_stats
    assert instance.started is not None
    assert instance.num_requests == 1
    create = {e.name: e for e in instance.endpoints}["create"]
    assert create.subject == "autonats.user.v1.create"
    assert create.num_requests == 1
    assert "request_schema" in create.metadata


async def test_every_instance_answers_and_a_stopped_one_does_not(
    nc: nats.aio.client.Client,
) -> None:
    async with UserServer(nc, UserStore()) as first:
        async with UserServer(nc, UserStore()) as second:
            ids = {first.service.id, second.service.id}
            assert len(ids) == 2
            pings = await gather(nc, "$SRV.PING.user")
            assert ids <= {p["id"] for p in pings}
            found = await autonats.discover(nc, "user")
            assert ids <= {i.id for i in found}
        pings = await gather(nc, "$SRV.PING.user")
        assert first.service.id in {p["id"] for p in pings}
        assert second.service.id not in {p["id"] for p in pings}
