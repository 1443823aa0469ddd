"""``autonats schema``: the contract as an AsyncAPI 3.0 document that validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from discovery_support import EXAMPLES, cli, load
from users_nats import INVENTORY_SERVICE, USER_SERVICE

ASYNCAPI = jsonschema.Draft7Validator(load("asyncapi-3.0.0.json"))


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("asyncapi") / "users.json"
    result = cli("schema", "users.py", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def _pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _validates(doc: dict[str, Any], pointer: str, instance: Any) -> bool:
    # Draft 7 ignores the siblings of $ref, so the document itself is the root
    # that every #/components/schemas/... reference resolves in.
    schema = {**doc, "$ref": pointer}
    return jsonschema.Draft7Validator(schema).is_valid(instance)


def test_the_document_validates_against_the_asyncapi_schema(
    document: dict[str, Any],
) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in ASYNCAPI.iter_errors(document)
    ]
    assert not errors
    assert document["asyncapi"] == "3.0.0"
    for ref in _refs(document):
        _pointer(document, ref)  # every reference resolves


def test_every_method_has_a_request_and_a_reply(document: dict[str, Any]) -> None:
    operations = document["operations"]
    channels = document["channels"]
    for service in (USER_SERVICE, INVENTORY_SERVICE):
        for method in service.methods.values():
            key = f"{service.name}.{method.name}"
            operation = operations[key]
            assert operation["action"] == "receive"
            assert operation["bindings"]["nats"]["queue"] == "q"
            assert channels[key]["address"] == method.subject("autonats")
            request = _pointer(document, operation["messages"][0]["$ref"])
            assert "payload" in _pointer(document, request["$ref"])
            if method.oneway:
                assert "reply" not in operation
                continue
            replies = [
                _pointer(document, r["$ref"])["$ref"].rsplit("/", 1)[-1]
                for r in operation["reply"]["messages"]
            ]
            kinds = ["item", "open", "heartbeat", "end"] if method.stream else ["reply"]
            assert replies == [
                *(f"{key}.{kind}" for kind in kinds),
                *(f"{service.name}.{name}" for name in sorted(service.errors)),
                f"{service.name}.Error",
            ]


def test_a_stream_has_its_messages_and_a_control_channel(
    document: dict[str, Any],
) -> None:
    watch = document["operations"]["user.watch"]
    assert watch["x-autonats-stream"] is True
    assert "server stream" in watch["summary"]
    assert document["operations"]["user.get_by_id"]["x-autonats-stream"] is False
    messages = "#/components/messages"
    request = _pointer(document, f"{messages}/user.watch.request")
    assert request["headers"]["required"] == ["Autonats-Credit"]
    assert _validates(document, f"{messages}/user.watch.request/payload", {})
    item = f"{messages}/user.watch.item/payload"
    user = {"id": "1", "name": "Ada", "tags": []}
    assert _validates(document, item, {"seq": 1, "kind": "created", "user": user})
    assert not _validates(document, item, {"seq": 1, "kind": "moved", "user": user})
    end = _pointer(document, f"{messages}/user.watch.end")["headers"]
    assert end["properties"]["Autonats-Stream"] == {"const": "end"}
    assert end["required"] == ["Autonats-Stream", "Autonats-Items"]
    control = document["channels"]["user.watch.control"]
    assert control["address"] == "autonats.user.v1.watch.{instance}.{stream}"
    assert set(control["parameters"]) == {"instance", "stream"}
    operation = document["operations"]["user.watch.control"]
    assert operation["action"] == "receive"
    credit = _pointer(document, f"{messages}/user.watch.credit")["headers"]
    assert credit["required"] == ["Autonats-Stream", "Autonats-Credit"]


def test_payload_schemas_describe_the_wire(document: dict[str, Any]) -> None:
    messages = "#/components/messages"
    request = f"{messages}/user.create.request/payload"
    assert _validates(document, request, {"name": "Ada"})
    assert _validates(
        document, request, {"name": "Ada", "address": {"street": "s", "city": "c"}}
    )
    assert not _validates(document, request, {"name": 1})
    assert not _validates(document, request, {})
    reply = f"{messages}/user.get_by_id.reply/payload"
    assert _validates(document, reply, {"id": "1", "name": "Ada", "tags": ["a"]})
    assert not _validates(document, reply, {"id": "1"})
    point = f"{messages}/inventory.locate.request/payload"
    assert _validates(document, point, {"near": [52.0, 4.0]})
    assert not _validates(document, point, {"near": [52.0, 4.0, 1.0]})
    profile = f"{messages}/user.profile.request/payload"
    assert _validates(document, profile, {"profile": {"user_id": "1"}})
    assert not _validates(document, profile, {"profile": {"bio": "x"}})
    error = _pointer(document, f"{messages}/user.UserNotFound")
    assert error["headers"]["properties"]["Nats-Service-Error-Code"]["const"] == "404"
    body = f"{messages}/user.UserNotFound/payload"
    assert _validates(
        document,
        body,
        {"type": "UserNotFound", "code": 404, "message": "m", "fields": {"id": "4"}},
    )
    assert not _validates(
        document, body, {"type": "UserNotFound", "code": 500, "message": "m"}
    )


def test_stdout_and_service_filter() -> None:
    result = cli("schema", "users.py", "--service", "inventory")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert not list(ASYNCAPI.iter_errors(doc))
    assert set(doc["operations"]) == {
        f"inventory.{m}" for m in INVENTORY_SERVICE.methods
    }
    assert doc["info"]["version"] == "0.0.0"


def test_a_file_without_services_is_one_line(tmp_path: Path) -> None:
    plain = tmp_path / "plain.py"
    plain.write_text("X = 1\n")
    result = cli("schema", str(plain), cwd=EXAMPLES)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "no service found" in result.stderr


def test_durable_methods_and_declared_options(tmp_path: Path) -> None:
    """A durable method is no queue-group subscription, and every operation shows
    the method's declared timeout and concurrency, not the defaults."""
    iface = tmp_path / "durable_iface.py"
    iface.write_text(
        "from typing import Protocol\n"
        "import autonats\n\n"
        "@autonats.service('jobs')\n"
        "class Jobs(Protocol):\n"
        "    @autonats.oneway(durable=True)\n"
        "    @autonats.method(timeout=12.5, concurrency=7)\n"
        "    async def run(self, n: int) -> None: ...\n\n"
        "    @autonats.method(timeout=30, concurrency=2)\n"
        "    async def rebuild(self) -> int: ...\n"
    )
    result = cli("schema", str(iface), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert not list(ASYNCAPI.iter_errors(doc))
    run, rebuild = doc["operations"]["jobs.run"], doc["operations"]["jobs.rebuild"]
    assert "bindings" not in run
    assert run["x-autonats-durable"] is True
    assert "JetStream stream autonats_jobs" in run["summary"]
    assert "consumer jobs_run" in run["summary"]
    assert (run["x-autonats-timeout-ms"], run["x-autonats-concurrency"]) == (12500, 7)
    assert rebuild["bindings"]["nats"]["queue"] == "q"
    assert rebuild["x-autonats-durable"] is False
    assert (rebuild["x-autonats-timeout-ms"], rebuild["x-autonats-concurrency"]) == (
        30000,
        2,
    )


def test_duration_schemas_accept_what_the_codec_writes() -> None:
    """timedelta is not JSON Schema's strict ``format: duration`` (RFC 3339 has
    no fractions): the schema's pattern takes every duration the codec writes
    and reads, and nothing it refuses."""
    import datetime
    import re

    import msgspec
    from autonats.contract.schema import json_schema

    schema = json_schema(datetime.timedelta)
    assert "format" not in schema
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for value in (
        datetime.timedelta(seconds=1.5),
        datetime.timedelta(days=1, hours=2),
        datetime.timedelta(seconds=-3),
        datetime.timedelta(0),
        datetime.timedelta(hours=25, microseconds=1),
    ):
        text = msgspec.json.decode(msgspec.json.encode(value))
        assert validator.is_valid(text), text
    for text in ("PT1.5S", "P1DT2H", "PT1H1.5M", "pt1s"):
        assert validator.is_valid(text), text
        msgspec.json.decode(f'"{text}"', type=datetime.timedelta)
    for text in ("P1W", "P1Y", "PT1,5S", "P1DT", "P", "1.5"):
        assert not validator.is_valid(text), text
        assert re.match(schema["pattern"], text) is None
