"""``autonats ls``, ``info``, ``stats`` and ``call``: look at and call running services.

They speak plain NATS (the ``$SRV`` API and the wire protocol), so they see
any NATS service and need none of its code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from autonats.cli._common import CommandError, positive_float
from autonats.cli._connection import add_connection_flags, run_connected, settings
from autonats.contract import wire

if TYPE_CHECKING:
    from autonats.observe.discovery import Endpoint, ServiceInstance

__all__ = ["add_parser", "parse_call_args", "type_of_schema"]

T = TypeVar("T")


def add_parser(commands: Any) -> None:
    """Register ``ls``, ``info``, ``stats`` and ``call``."""
    ls = _command(
        commands,
        "ls",
        "list running services",
        "Ask every service on the server ($SRV.INFO and $SRV.STATS) and list them, "
        "one line per subject prefix, name and version: instances, endpoints, "
        "requests, errors, average latency.",
    )
    ls.add_argument(
        "--prefix", help="only the services under this subject prefix (autonats)"
    )
    ls.set_defaults(func=run_ls)
    info = _command(
        commands,
        "info",
        "show a service's endpoints",
        "Show each instance of service NAME (user, or user.v2 for one major "
        "version): its endpoints, their subjects and their parameter and return "
        "types.",
    )
    info.add_argument("name", metavar="NAME")
    info.add_argument("--prefix", help="only the instances under this subject prefix")
    info.set_defaults(func=run_info)
    stats = _command(
        commands,
        "stats",
        "show a service's counters",
        "Show the counters of every endpoint of every instance of service NAME "
        "(user, or user.v2 for one major version).",
    )
    stats.add_argument("name", metavar="NAME")
    stats.add_argument("--prefix", help="only the instances under this subject prefix")
    stats.set_defaults(func=run_stats)
    call = _command(
        commands,
        "call",
        "call a method and print its reply",
        'Call SERVICE.METHOD with ARGS: one JSON object (\'{"id": "42"}\') and/or '
        "name=value pairs (the value is parsed as JSON when it parses, else taken as "
        "a string). Prints the JSON reply; on an error reply prints its code and "
        "message and exits with status 1. A stream prints each item as it arrives, "
        "one JSON per line, until the stream ends (Ctrl-C stops it).",
        timeout=5.0,
        timeout_help="how long to wait for the reply (default: 5); for a stream, "
        "for each item (default: the method's declared timeout)",
    )
    call.add_argument(
        "target",
        metavar="SERVICE.METHOD",
        help="e.g. user.get_by_id; user.v2.get_by_id picks major version 2 when "
        "several run",
    )
    call.add_argument("args", nargs="*", metavar="ARGS")
    call.add_argument(
        "--prefix",
        default=wire.DEFAULT_PREFIX,
        help=f"subject prefix (default: {wire.DEFAULT_PREFIX})",
    )
    call.set_defaults(func=run_call)


def _command(
    commands: Any,
    name: str,
    help: str,
    description: str,
    *,
    timeout: float = 1.0,
    timeout_help: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=description
    )
    add_connection_flags(parser)
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON"
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        # None: not given (call tells a stream's declared timeout from it).
        default=None if timeout_help else timeout,
        metavar="SECONDS",
        help=timeout_help or f"how long to wait for replies (default: {timeout:g})",
    )
    return parser


def _instances(args: argparse.Namespace, name: str | None) -> list[ServiceInstance]:
    """The instances that answer, of service ``name`` (``user`` or ``user.v2``:
    one major version) or of every service; ``--prefix`` keeps one prefix."""
    from autonats.observe.discovery import discover

    major = None
    if name is not None:
        try:
            name, version = wire.split_service(name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        major = wire.major(version) if "." in args.name else None
    found = run_connected(args, lambda nc: discover(nc, name, timeout=args.timeout))
    prefix = getattr(args, "prefix", None) if name is not None else None
    found = [
        i
        for i in found
        if (major is None or i.major == major)
        and (prefix is None or i.prefix == prefix)
    ]
    if not found:
        what = f"no instance of service {args.name!r}" if name else "no service"
        raise CommandError(
            f"{what} answered on {settings(args).display} within {args.timeout:g} s"
        )
    return found


def _print_json(value: Any) -> None:
    print(json.dumps(msgspec.to_builtins(value), indent=2, ensure_ascii=False))


# -- ls --------------------------------------------------------------------------


def run_ls(args: argparse.Namespace) -> int:
    """List services, one line per prefix, name and version."""
    instances = [
        i
        for i in _instances(args, None)
        if args.prefix is None or i.prefix == args.prefix
    ]
    if not instances:
        raise CommandError(f"no service answered under prefix {args.prefix!r}")
    rows: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str], list[ServiceInstance]] = {}
    for instance in instances:
        key = (instance.prefix, instance.name, instance.version)
        groups.setdefault(key, []).append(instance)
    for (prefix, name, version), group in sorted(groups.items()):
        requests = sum(i.num_requests for i in group)
        spent = sum(i.processing_time for i in group)
        rows.append(
            {
                "prefix": prefix,
                "name": name,
                "version": version,
                "instances": len(group),
                "endpoints": max(len(i.endpoints) for i in group),
                "requests": requests,
                "errors": sum(i.num_errors for i in group),
                "average_latency_ns": spent // requests if requests else 0,
                "ids": [i.id for i in group],
            }
        )
    if args.json:
        _print_json(rows)
        return 0
    _table(
        [
            "PREFIX",
            "NAME",
            "VERSION",
            "INSTANCES",
            "ENDPOINTS",
            "REQUESTS",
            "ERRORS",
            "AVG",
        ],
        [
            [
                r["prefix"] or "-",
                r["name"],
                r["version"],
                r["instances"],
                r["endpoints"],
                r["requests"],
                r["errors"],
                _duration(r["average_latency_ns"]) if r["requests"] else "-",
            ]
            for r in rows
        ],
        right={3, 4, 5, 6, 7},
    )
    return 0


# -- info ------------------------------------------------------------------------


def run_info(args: argparse.Namespace) -> int:
    """Each instance's endpoints with their subjects and signatures."""
    instances = _instances(args, args.name)
    if args.json:
        _print_json(
            [
                {
                    "name": i.name,
                    "id": i.id,
                    "version": i.version,
                    "description": i.description,
                    "metadata": dict(i.metadata),
                    "started": i.started,
                    "endpoints": [
                        {
                            "name": e.name,
                            "subject": e.subject,
                            "queue_group": e.queue_group,
                            "signature": _signature(e),
                            "metadata": dict(e.metadata),
                        }
                        for e in i.endpoints
                    ],
                }
                for i in instances
            ]
        )
        return 0
    for n, i in enumerate(instances):
        if n:
            print()
        print(f"{i.name} {i.version}  id {i.id}" + _started(i))
        if i.description:
            for line in i.description.splitlines():
                print(f"  {line}")
        if i.metadata:
            print("  metadata: " + ", ".join(f"{k}={v}" for k, v in i.metadata.items()))
        for e in i.endpoints:
            details = [e.subject]
            if e.queue_group:
                details.append(f"queue {e.queue_group}")
            if e.metadata.get("oneway") == "true":
                details.append("oneway")
            stream = e.metadata.get("stream") == "true"
            if stream:
                details.append("stream")
            if e.metadata.get("timeout_ms", "").isdigit():
                per = " per item" if stream else ""
                timeout = int(e.metadata["timeout_ms"]) / 1000
                details.append(f"timeout {timeout:g}s{per}")
            print(f"  {e.name}{_signature(e)}")
            print(f"      {', '.join(details)}")
    return 0


def _started(instance: ServiceInstance) -> str:
    if instance.started is None:
        return ""
    return "  started " + instance.started.strftime("%Y-%m-%d %H:%M:%S UTC")


def _signature(endpoint: Endpoint) -> str:
    """``(id: str, limit: int = 10) -> User`` from the endpoint's schemas; "" without."""
    meta = endpoint.metadata
    try:
        request = json.loads(meta["request_schema"])
        reply = json.loads(meta["reply_schema"])
    except (KeyError, ValueError):
        return ""
    defs = request.get("$defs", {})
    root = _resolve(request, defs)
    required = set(root.get("required", ()))
    params = []
    for pname, pschema in (root.get("properties") or {}).items():
        text = f"{pname}: {type_of_schema(pschema, defs)}"
        if pname not in required:
            default = pschema.get("default") if isinstance(pschema, dict) else None
            text += f" = {json.dumps(default)}"
        params.append(text)
    returns = type_of_schema(reply, reply.get("$defs", {}))
    if meta.get("stream") == "true":  # the reply schema is each item's
        returns = f"AsyncIterator[{returns}]"
    return f"({', '.join(params)}) -> {returns}"


def _resolve(schema: Any, defs: dict[str, Any]) -> Any:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        if target is None:
            break
        schema, seen = target, seen + 1
    return schema


_SCALARS = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "null": "None",
}
_FORMATS = {
    "date-time": "datetime",
    "date": "date",
    "time": "time",
    "duration": "timedelta",
    "uuid": "UUID",
    "decimal": "Decimal",
    "base64": "bytes",
}


def type_of_schema(schema: Any, defs: dict[str, Any] | None = None) -> str:
    """A Python-like type for a JSON Schema, for people to read: ``list[User] | None``."""
    if schema is True or schema == {} or not isinstance(schema, dict):
        return "Any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(type_of_schema(s, defs) for s in schema[key])
    if "const" in schema:
        return f"Literal[{json.dumps(schema['const'])}]"
    if "enum" in schema:
        if "title" in schema:
            return str(schema["title"])
        return f"Literal[{', '.join(json.dumps(v) for v in schema['enum'])}]"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(type_of_schema({**schema, "type": k}, defs) for k in kind)
    if kind == "string":
        fmt = schema.get("format") or schema.get("contentEncoding")
        return _FORMATS.get(str(fmt), "str")
    if kind in _SCALARS:
        return _SCALARS[str(kind)]
    if kind == "array":
        if "prefixItems" in schema:
            items = ", ".join(type_of_schema(s, defs) for s in schema["prefixItems"])
            return f"tuple[{items}]"
        item = type_of_schema(schema.get("items", {}), defs)
        return f"{'set' if schema.get('uniqueItems') else 'list'}[{item}]"
    if kind == "object":
        if "title" in schema:
            return str(schema["title"])
        values = schema.get("additionalProperties")
        if isinstance(values, dict) and not schema.get("properties"):
            return f"dict[str, {type_of_schema(values, defs)}]"
        return "dict[str, Any]"
    return "Any"


# -- stats -----------------------------------------------------------------------


def run_stats(args: argparse.Namespace) -> int:
    """Per instance and endpoint counters."""
    instances = _instances(args, args.name)
    if args.json:
        _print_json(
            [
                {
                    "name": i.name,
                    "id": i.id,
                    "version": i.version,
                    "started": i.started,
                    "endpoints": [
                        {
                            "name": e.name,
                            "subject": e.subject,
                            "num_requests": e.num_requests,
                            "num_errors": e.num_errors,
                            "last_error": e.last_error,
                            "processing_time": e.processing_time,
                            "average_processing_time": e.average_processing_time,
                            "data": e.data,
                        }
                        for e in i.endpoints
                    ],
                }
                for i in instances
            ]
        )
        return 0
    for n, i in enumerate(instances):
        if n:
            print()
        print(f"{i.name} {i.version}  id {i.id}" + _started(i))
        rows = []
        for e in i.endpoints:
            data = e.data if isinstance(e.data, dict) else {}
            rows.append(
                [
                    f"  {e.name}",
                    e.num_requests,
                    e.num_errors,
                    _duration(e.average_processing_time) if e.num_requests else "-",
                    _duration(e.processing_time) if e.num_requests else "-",
                    data.get("in_flight", ""),
                    data.get("queued", ""),
                    data.get("shed", ""),
                    _outlier_state(data.get("outlier")),
                    e.last_error,
                ]
            )
        _table(
            [
                "  ENDPOINT",
                "REQUESTS",
                "ERRORS",
                "AVG",
                "TOTAL",
                "IN FLIGHT",
                "QUEUED",
                "SHED",
                "STATE",
                "LAST ERROR",
            ],
            rows,
            right={1, 2, 3, 4, 5, 6, 7},
        )
    return 0


def _outlier_state(figures: object) -> str:
    """``serving``, or ``ejected`` with the time until it rejoins (outlier ejection)."""
    if not isinstance(figures, dict) or not isinstance(figures.get("state"), str):
        return ""
    state: str = figures["state"]
    rejoin = figures.get("rejoin_in_ms")
    if state == "ejected" and isinstance(rejoin, int):
        return f"ejected {rejoin / 1000:.0f}s"
    return state


# -- call ------------------------------------------------------------------------


def parse_call_args(
    args: Sequence[str], request_schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The request object from ``'{"id": "42"}'`` and/or ``id=42`` arguments.

    A ``name=value`` value is JSON when it parses as JSON (``n=3`` is a number,
    ``ok=true`` a boolean), else the text itself (``id=abc``). When the method's
    ``request_schema`` is known and the parameter takes a string but not what
    the value parsed as, the text is kept: ``id=42`` is ``"42"`` for ``id: str``.
    """
    properties: Mapping[str, Any] = {}
    defs: dict[str, Any] = {}
    if request_schema is not None:
        defs = dict(request_schema.get("$defs") or {})
        properties = _resolve(request_schema, defs).get("properties") or {}
    body: dict[str, Any] = {}
    for arg in args:
        if arg.lstrip().startswith("{"):
            try:
                value = json.loads(arg)
            except ValueError as exc:
                raise CommandError(f"not a JSON object: {arg!r}: {exc}") from None
            if not isinstance(value, dict):
                raise CommandError(f"not a JSON object: {arg!r}")
            body.update(value)
            continue
        name, sep, text = arg.partition("=")
        if not sep or not name.isidentifier():
            raise CommandError(
                f"argument {arg!r}: expected name=value or a JSON object"
            )
        try:
            body[name] = json.loads(text)
        except ValueError:
            body[name] = text
            continue
        accepted = _json_types(properties.get(name), defs)
        if (
            "string" in accepted
            and not isinstance(body[name], str)
            and _json_type(body[name]) not in accepted
        ):
            body[name] = text
    return body


_ANY_TYPE = frozenset(
    {"string", "integer", "number", "boolean", "null", "array", "object"}
)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def _json_types(schema: Any, defs: dict[str, Any], depth: int = 0) -> frozenset[str]:
    """The JSON types a schema accepts, roughly (everything when unsure)."""
    schema = _resolve(schema, defs)
    if not isinstance(schema, dict) or depth > 10:
        return _ANY_TYPE
    for key in ("anyOf", "oneOf"):
        if key in schema:
            found: set[str] = set()
            for sub in schema[key]:
                found |= _json_types(sub, defs, depth + 1)
            return frozenset(found)
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return frozenset(_json_type(v) for v in values)
    kind = schema.get("type")
    if isinstance(kind, str):
        kind = [kind]
    if not isinstance(kind, list):
        return _ANY_TYPE
    types = set(kind)
    if "number" in types:
        types.add("integer")
    return frozenset(types)


async def _endpoint(
    nc: Any, service: str, version: str | None, method: str, prefix: str
) -> tuple[str, dict[str, str]]:
    """The method's subject and endpoint metadata, as the running instances of
    the service describe them in ``$SRV.INFO`` under ``prefix``.

    ``version`` (a major's ``N.0.0``) picks one major version; without it the
    instances must agree on one. Nothing answering (or no autonats service):
    the subject of the wire grammar and no metadata, the call reports the rest.
    """
    from autonats.errors import PermissionDenied
    from autonats.observe.discovery import discover

    try:
        found = await discover(nc, service, timeout=1.0, quiet=0.1)
    except PermissionDenied as exc:
        if exc.operation == "subscribe":
            raise  # no reply can arrive, to this request or to the call
        found = []  # discovery not allowed: call without the types
    wanted = None if version is None else wire.major(version)
    seen: dict[int, tuple[str, dict[str, str]]] = {}
    for instance in found:
        major = instance.major
        if instance.prefix != prefix or major is None:
            continue
        if wanted is not None and major != wanted:
            continue
        for endpoint in instance.endpoints:
            if endpoint.name == method:
                seen.setdefault(major, (endpoint.subject, dict(endpoint.metadata)))
    if len(seen) > 1:
        majors = sorted(seen)
        names = ", ".join(
            f"{service}.v{m}.{method}" if m else f"{service}.{method} (0.x)"
            for m in majors
        )
        raise CommandError(
            f"{service} is served in several major versions under {prefix}: "
            f"name one: {names}"
        )
    if seen:
        return next(iter(seen.values()))
    return wire.method_subject(prefix, service, version or "0.0.0", method), {}


def _request_schema(metadata: Mapping[str, str]) -> dict[str, Any] | None:
    try:
        schema = json.loads(metadata.get("request_schema", ""))
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def _publishing(nc: Any, subject: str) -> Callable[[Any], bool]:
    """Matches a refused publish to ``subject``, or a refused subscription of
    the connection's inbox (where the reply would come)."""
    from autonats.runtime.permissions import inbox_prefix_of

    inbox = inbox_prefix_of(nc).lower() + "."
    return lambda denial: (
        (denial.operation == "publish" and denial.subject == subject.lower())
        or (denial.operation == "subscribe" and denial.subject.startswith(inbox))
    )


def _call_target(target: str) -> tuple[str, str | None, str]:
    """``user.get_by_id`` or ``user.v2.get_by_id`` as (service, version or None,
    method)."""
    parts = target.split(".")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        try:
            service, version = wire.split_service(f"{parts[0]}.{parts[1]}")
        except ValueError:
            pass
        else:
            return service, version, parts[2]
    raise CommandError(
        f"{target!r}: expected SERVICE.METHOD or SERVICE.vN.METHOD, e.g. "
        "user.get_by_id or user.v2.get_by_id"
    )


def run_call(args: argparse.Namespace) -> int:
    """Send one request and print the reply (or the error, exit status 1).

    A oneway method (as ``$SRV.INFO`` describes it) is published without a
    reply subject, a durable one stored through JetStream, and ``sent`` or
    ``stored`` is printed: there is no reply to wait for.
    """
    service, version, method = _call_target(args.target)
    parse_call_args(args.args)  # report bad arguments before connecting
    timeout = args.timeout or CALL_TIMEOUT
    headers = {wire.TIMEOUT_HEADER: wire.timeout_header(timeout)}

    async def request(nc: Any) -> Any:
        import nats.errors
        from autonats import _denials

        subject, metadata = await _endpoint(nc, service, version, method, args.prefix)
        body = parse_call_args(args.args, _request_schema(metadata))
        payload = json.dumps(body).encode()
        refused = _publishing(nc, subject)
        if metadata.get("stream") == "true":
            return await _read_stream(
                nc, subject, payload, args.timeout or _declared(metadata), args.json
            )
        if metadata.get("durable") == "true":
            ack = await _denials.guard(nc).race(
                nc.jetstream().publish(
                    subject,
                    payload,
                    timeout=timeout,
                    headers={"Nats-Msg-Id": uuid.uuid4().hex},
                ),
                refused,
            )
            return f"stored in stream {ack.stream} (durable oneway: no reply)"
        if metadata.get("oneway") == "true":
            await nc.publish(subject, payload, headers=headers)
            await nc.flush(timeout=max(1, int(timeout)))
            return "sent (oneway: no reply)"
        try:
            return await _denials.guard(nc).race(
                nc.request(subject, payload, timeout=timeout, headers=headers),
                refused,
            )
        except nats.errors.NoRespondersError:
            raise CommandError(
                f"no handler serves {subject} (see autonats ls)"
            ) from None
        except nats.errors.TimeoutError:
            raise CommandError(f"{subject}: no reply within {timeout:g} s") from None

    msg = run_connected(args, request)
    if isinstance(msg, int):  # a stream, printed as it arrived
        return msg
    if isinstance(msg, str):
        print("null" if args.json else msg)
        return 0
    headers = msg.headers or {}
    code = headers.get(wire.ERROR_CODE_HEADER)
    if code is None:
        text = msg.data.decode("utf-8", "replace").strip() or "null"
        try:
            print(json.dumps(json.loads(text), indent=None if args.json else 2))
        except ValueError:
            print(text)
        return 0
    _print_error(headers, msg.data, args.json)
    return 1


#: ``autonats call``'s default timeout (seconds) for a request.
CALL_TIMEOUT = 5.0


def _declared(metadata: Mapping[str, str]) -> float:
    """The method's declared timeout (seconds) from its endpoint metadata."""
    try:
        return max(int(metadata["timeout_ms"]) / 1000, 0.001)
    except (KeyError, ValueError):
        return CALL_TIMEOUT


class _ErrorReply(Exception):
    """The error reply that ended a stream, as it came."""

    def __init__(self, headers: dict[str, str], data: bytes) -> None:
        super().__init__(headers.get(wire.ERROR_HEADER, ""))
        self.headers = headers
        self.data = data


def _error_reply(headers: dict[str, str], data: bytes) -> Exception | None:
    if wire.ERROR_CODE_HEADER not in headers:
        return None
    return _ErrorReply(headers, data)


async def _read_stream(
    nc: Any, subject: str, payload: bytes, timeout: float, compact: bool
) -> int:
    """Print each item of the stream at ``subject`` as it arrives, one JSON per
    line; then the error that ended it, if any (exit status 1)."""
    from autonats.errors import NoRespondersError, TimeoutError
    from autonats.runtime.stream import open_raw

    stream = open_raw(nc, subject, payload, timeout=timeout, error_of=_error_reply)
    try:
        async with stream:
            async for data in stream:
                text = data.decode("utf-8", "replace").strip() or "null"
                if not compact:  # one line per item, whatever the handler wrote
                    with contextlib.suppress(ValueError):
                        text = json.dumps(json.loads(text), ensure_ascii=False)
                print(text, flush=True)
    except _ErrorReply as exc:
        _print_error(exc.headers, exc.data, compact)
        return 1
    except NoRespondersError:
        raise CommandError(f"no handler serves {subject} (see autonats ls)") from None
    except TimeoutError as exc:
        raise CommandError(str(exc)) from None
    return 0


def _print_error(headers: dict[str, str], data: bytes, compact: bool) -> None:
    code = headers.get(wire.ERROR_CODE_HEADER, "")
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {
            "type": "",
            "code": int(code) if code.isdigit() else code,
            "message": headers.get(wire.ERROR_HEADER, ""),
        }
    if compact:
        print(json.dumps(body))
    else:
        kind = f" {body['type']}" if body.get("type") else ""
        line = f"error {code}{kind}: {body.get('message', '')}"
        fields = body.get("fields")
        if fields:
            line += " " + json.dumps(fields)
        print(line, file=sys.stderr)


# -- output ----------------------------------------------------------------------


def _duration(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f}s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.2f}ms"
    if ns >= 1_000:
        return f"{ns / 1e3:.0f}µs"
    return f"{ns}ns"


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    right: Collection[int] = (),
) -> None:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        print("  ".join(parts).rstrip())
