"""JSON Schema of a service's types, and its contract as an AsyncAPI 3.0 document.

msgspec writes the schemas (the codec is msgspec, so its schemas describe exactly
what the wire accepts); pydantic models, which msgspec sees as custom types,
contribute their own ``model_json_schema``.

- :func:`json_schema` is one stand-alone JSON Schema (draft 2020-12), as the
  handler publishes for each endpoint in ``$SRV.INFO`` metadata.
- :func:`asyncapi` is the whole contract of one or more services: a request and
  a reply message per method, the declared errors, and every type under
  ``components/schemas`` (AsyncAPI schemas are JSON Schema draft 07).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from autonats.contract import codec, wire
from autonats.contract.spec import MethodSpec, ServiceSpec, error_fields
from autonats.errors import ServiceError

__all__ = [
    "ASYNCAPI_VERSION",
    "JSON_SCHEMA_DIALECT",
    "asyncapi",
    "error_schema",
    "json_schema",
    "request_schema",
    "reply_schema",
]

ASYNCAPI_VERSION = "3.0.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_COMPONENT_REF = "#/components/schemas/{name}"
_LOCAL_REF = "#/$defs/{name}"

#: The ``type`` of replies for errors the runtime itself sends (docs/protocol.md, section 3).
BUILTIN_ERRORS = ("BadRequest", "InternalError", "Overloaded", "DeadlineExceeded")


def _components(
    types: Sequence[Any], ref_template: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """msgspec's ``schema_components`` with pydantic models resolved by pydantic."""
    extra: dict[str, Any] = {}

    def hook(tp: Any) -> dict[str, Any]:
        if codec.is_pydantic_model(tp):
            schema: dict[str, Any] = tp.model_json_schema(
                ref_template=ref_template.replace("{name}", "{model}")
            )
            extra.update(schema.pop("$defs", {}))
            return schema
        raise NotImplementedError  # msgspec reports the unsupported type

    schemas, components = msgspec.json.schema_components(
        types, schema_hook=hook, ref_template=ref_template
    )
    return _durations(list(schemas)), _durations({**extra, **components})


#: What the codec reads as a ``timedelta``: ISO 8601 days, hours, minutes and
#: seconds, seconds (and hours, minutes) with a fraction, e.g. ``P1DT2H``,
#: ``PT1.5S``, ``-PT3S``. JSON Schema's ``format: duration`` (RFC 3339) would
#: refuse the fractions the codec itself writes, so the schema says this instead.
DURATION_PATTERN = (
    r"^-?[Pp](?=.)(\d+[Dd])?"
    r"([Tt](?=\d)(\d+(\.\d+)?[Hh])?(\d+(\.\d+)?[Mm])?(\d+(\.\d+)?[Ss])?)?$"
)


def _durations(value: Any) -> Any:
    """Replace msgspec's ``{"type": "string", "format": "duration"}`` everywhere."""
    if isinstance(value, dict):
        if value.get("format") == "duration" and value.get("type") == "string":
            rest = {k: _durations(v) for k, v in value.items() if k != "format"}
            return {
                **rest,
                "pattern": DURATION_PATTERN,
                "description": rest.get(
                    "description",
                    "ISO 8601 duration in days, hours, minutes and seconds "
                    "(fractions allowed), e.g. P1DT2H or PT1.5S",
                ),
            }
        return {k: _durations(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_durations(v) for v in value]
    return value


def json_schema(tp: Any) -> dict[str, Any]:
    """A stand-alone JSON Schema (draft 2020-12) of the JSON form of ``tp``."""
    (root,), defs = _components([tp], _LOCAL_REF)
    schema = {"$schema": JSON_SCHEMA_DIALECT, **root}
    if defs:
        schema["$defs"] = defs
    return schema


def request_schema(method: MethodSpec) -> dict[str, Any]:
    """The JSON Schema of a method's request body: an object of its parameters."""
    return json_schema(method.args_type)


def reply_schema(method: MethodSpec) -> dict[str, Any]:
    """The JSON Schema of a method's successful reply body (``null`` for no result)."""
    return json_schema(method.returns)


def error_schema(
    cls: type[ServiceError] | None, ref_template: str = _LOCAL_REF
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body of an error reply: a declared error, or (``None``) the built-in ones.

    Returns the schema and the components its fields refer to.
    """
    fields = error_fields(cls) if cls is not None else {}
    names = list(fields)
    schemas, components = _components(list(fields.values()), ref_template)
    properties: dict[str, Any] = {
        "type": {"const": cls.__name__} if cls else {"enum": list(BUILTIN_ERRORS)},
        "code": {"const": int(cls.code)} if cls else {"type": "integer"},
        "message": {"type": "string"},
    }
    if names:
        properties["fields"] = {
            "type": "object",
            "properties": dict(zip(names, schemas, strict=True)),
        }
    body: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": ["type", "code", "message"],
    }
    if cls is not None and cls.__doc__ and cls.__doc__ is not ServiceError.__doc__:
        body["description"] = inspect.cleandoc(cls.__doc__)
    return body, components


# -- AsyncAPI ------------------------------------------------------------------


def asyncapi(
    services: Iterable[ServiceSpec],
    *,
    prefix: str = wire.DEFAULT_PREFIX,
    title: str | None = None,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``services``, as seen from their handlers.

    Each method is a channel on its subject that the handler *receives* on,
    with the request message; request/reply methods also have a reply channel
    (the caller's inbox, so no fixed address) with the reply message and one
    message per declared error plus the built-in errors. A stream's reply
    channel carries its items and control messages instead of one reply, and
    a second channel and operation take the client's credit and cancel.
    """
    services = list(services)
    if not services:
        raise ValueError("no services to describe")
    types: list[Any] = []
    for service in services:
        for method in service.methods.values():
            types += [method.args_type, method.returns]
    schemas, components = _components(types, _COMPONENT_REF)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    it = iter(schemas)
    for service in services:
        error_refs = _error_messages(service, messages, components)
        for method in service.methods.values():
            request, reply = next(it), next(it)
            _method(
                service,
                method,
                prefix,
                request,
                reply,
                error_refs,
                messages,
                channels,
                operations,
            )
    versions = {s.version for s in services}
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title or ", ".join(s.name for s in services),
            "version": versions.pop()
            if len(versions) == 1
            else ", ".join(f"{s.name} {s.version}" for s in services),
            "description": _description(services),
            "tags": [
                {
                    "name": s.name,
                    **({"description": s.description} if s.description else {}),
                }
                for s in services
            ],
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _draft07(components),
            "messages": _draft07(messages),
        },
    }
    return document


def _description(services: Sequence[ServiceSpec]) -> str:
    lines = [
        "Generated by autonats. Each method is a NATS subject "
        "`<prefix>.<service>.<method>` served in queue group "
        f"`{wire.QUEUE_GROUP}`; request bodies are JSON objects of the parameters, "
        "error replies carry the `Nats-Service-Error` and `Nats-Service-Error-Code` "
        "headers (see the autonats wire protocol)."
    ]
    for s in services:
        text = f"{s.name} {s.version}"
        if s.description:
            text += f": {s.description}"
        lines.append(f"- {text}")
    return "\n".join(lines)


def _error_messages(
    service: ServiceSpec, messages: dict[str, Any], components: dict[str, Any]
) -> list[dict[str, str]]:
    refs = []
    for cls in [*sorted(service.errors.values(), key=lambda c: c.__name__), None]:
        name = cls.__name__ if cls is not None else "Error"
        key = f"{service.name}.{name}"
        body, extra = error_schema(cls, _COMPONENT_REF)
        components.update(extra)
        code: dict[str, Any] = (
            {"const": str(int(cls.code))}
            if cls
            else {"enum": ["400", "500", "503", "504"]}
        )
        messages[key] = {
            "name": name,
            "title": f"{name} ({int(cls.code)})" if cls else "Built-in errors",
            "summary": (
                f"Declared error of service {service.name}"
                if cls
                else "BadRequest (400), InternalError (500), Overloaded (503), "
                "DeadlineExceeded (504)"
            ),
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    wire.ERROR_HEADER: {"type": "string"},
                    wire.ERROR_CODE_HEADER: {"type": "string", **code},
                },
                "required": [wire.ERROR_HEADER, wire.ERROR_CODE_HEADER],
            },
            "payload": body,
        }
        refs.append({"$ref": f"#/components/messages/{key}"})
    return refs


def _method(
    service: ServiceSpec,
    method: MethodSpec,
    prefix: str,
    request: dict[str, Any],
    reply: dict[str, Any],
    error_refs: list[dict[str, str]],
    messages: dict[str, Any],
    channels: dict[str, Any],
    operations: dict[str, Any],
) -> None:
    key = f"{service.name}.{method.name}"
    params = ", ".join(p.name for p in method.params)
    request_key, reply_key = f"{key}.request", f"{key}.reply"
    request_headers: dict[str, Any] = {
        wire.TIMEOUT_HEADER: {
            "type": "string",
            "pattern": "^[0-9]{1,9}$",
            "description": (
                "milliseconds the whole stream may still take"
                if method.stream
                else "milliseconds the caller still waits for the reply"
            ),
        }
    }
    if method.stream:
        request_headers.update(_CREDIT_HEADERS)
    messages[request_key] = {
        "name": request_key,
        "title": f"{service.name}.{method.name}({params})",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": request_headers,
            **({"required": [wire.CREDIT_HEADER]} if method.stream else {}),
        },
        "payload": request,
    }
    channels[key] = {
        "address": method.subject(prefix),
        "title": f"{service.name}.{method.name}",
        "messages": {"request": {"$ref": f"#/components/messages/{request_key}"}},
    }
    if method.durable:
        stream = wire.stream_name(prefix, service.name, service.version)
        summary = (
            f"durable oneway: stored in JetStream stream {stream}, pulled by the "
            f"durable consumer "
            f"{wire.consumer_name(service.name, method.name, service.version)} "
            f"that every handler shares; delivered at least once, each delivery "
            f"with a timeout of {method.timeout:g} s"
        )
        # Not a queue-group subscription: JetStream delivers (section 10).
        bindings: dict[str, Any] = {}
    else:
        if method.oneway:
            summary = "oneway: published without a reply subject, never answered"
        elif method.stream:
            summary = (
                "server stream: items go to the caller's reply subject as its "
                f"credit allows; each item waited for at most {method.timeout:g} s"
            )
        else:
            summary = f"request/reply; timeout {method.timeout:g} s"
        bindings = {"nats": {"queue": wire.QUEUE_GROUP, "bindingVersion": "0.1.0"}}
    operation: dict[str, Any] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{_pointer(key)}"},
        "title": f"{service.name}.{method.name}",
        "summary": summary,
        "tags": [{"name": service.name}],
        "messages": [{"$ref": f"#/channels/{_pointer(key)}/messages/request"}],
        **({"bindings": bindings} if bindings else {}),
        "x-autonats-timeout-ms": int(method.timeout * 1000),
        "x-autonats-concurrency": method.concurrency,
        "x-autonats-oneway": method.oneway,
        "x-autonats-durable": method.durable,
        "x-autonats-stream": method.stream,
    }
    if method.stream:
        replies = _stream_messages(key, reply, messages)
        _stream_control(key, method, prefix, messages, channels, operations)
    elif not method.oneway:
        messages[reply_key] = {
            "name": reply_key,
            "title": f"{service.name}.{method.name} reply",
            "contentType": "application/json",
            "payload": reply,
        }
        replies = {"reply": {"$ref": f"#/components/messages/{reply_key}"}}
    if not method.oneway:
        reply_channel = f"{key}.reply"
        channel_messages = {
            **replies,
            **{ref["$ref"].rsplit(".", 1)[-1]: ref for ref in error_refs},
        }
        channels[reply_channel] = {
            "address": None,
            "title": f"{service.name}.{method.name} reply",
            "description": "The caller's reply subject (its inbox), set on each request.",
            "messages": channel_messages,
        }
        pointer = _pointer(reply_channel)
        operation["reply"] = {
            "channel": {"$ref": f"#/channels/{pointer}"},
            "messages": [
                {"$ref": f"#/channels/{pointer}/messages/{name}"}
                for name in channel_messages
            ],
        }
    operations[key] = operation


_CREDIT_HEADERS: dict[str, Any] = {
    wire.CREDIT_HEADER: {
        "type": "string",
        "pattern": "^[0-9]{1,18}$",
        "description": "items the client accepts in all since the stream opened",
    },
    wire.CREDIT_BYTES_HEADER: {
        "type": "string",
        "pattern": "^[0-9]{1,18}$",
        "description": "bytes of items the client accepts in all since the stream "
        "opened (optional)",
    },
}


def _control_message(
    key: str,
    kind: str,
    summary: str,
    headers: dict[str, Any],
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "name": f"{key}.{kind}",
        "title": f"{key} {kind}",
        "summary": summary,
        "headers": {
            "type": "object",
            "properties": {wire.STREAM_HEADER: {"const": kind}, **headers},
            "required": [
                wire.STREAM_HEADER,
                *(name for name in headers if name not in optional),
            ],
        },
    }


def _stream_messages(
    key: str, item: dict[str, Any], messages: dict[str, Any]
) -> dict[str, Any]:
    """The messages a stream's handler sends to the caller's reply subject."""
    items = {"type": "string", "pattern": "^[0-9]{1,18}$"}
    messages[f"{key}.item"] = {
        "name": f"{key}.item",
        "title": f"{key} item",
        "summary": "One item: a message without headers whose body is the item",
        "contentType": "application/json",
        "payload": item,
    }
    messages[f"{key}.open"] = _control_message(
        key,
        wire.STREAM_OPEN,
        "The stream started; credit and cancel go to the control subject",
        {wire.CONTROL_HEADER: {"type": "string"}},
    )
    messages[f"{key}.heartbeat"] = _control_message(
        key,
        wire.STREAM_HEARTBEAT,
        f"Sent after {wire.HEARTBEAT_INTERVAL:g} s without another message",
        {wire.ITEMS_HEADER: items},
    )
    messages[f"{key}.end"] = _control_message(
        key, wire.STREAM_END, "The last item was sent", {wire.ITEMS_HEADER: items}
    )
    return {
        kind: {"$ref": f"#/components/messages/{key}.{kind}"}
        for kind in ("item", "open", "heartbeat", "end")
    }


def _stream_control(
    key: str,
    method: MethodSpec,
    prefix: str,
    messages: dict[str, Any],
    channels: dict[str, Any],
    operations: dict[str, Any],
) -> None:
    """The channel a stream's handler receives the client's credit and cancel on."""
    control = f"{key}.control"
    messages[f"{key}.credit"] = _control_message(
        key,
        wire.STREAM_CREDIT,
        f"More credit (totals); also the client's heartbeat, at least every "
        f"{wire.HEARTBEAT_INTERVAL:g} s",
        dict(_CREDIT_HEADERS),
        optional=(wire.CREDIT_BYTES_HEADER,),
    )
    messages[f"{key}.cancel"] = _control_message(
        key, wire.STREAM_CANCEL, "Stop the stream (idempotent)", {}
    )
    channels[control] = {
        "address": wire.control_subject(
            method.subject(prefix), "{instance}", "{stream}"
        ),
        "title": f"{key} control",
        "description": "Where the client of one stream sends credit and cancel: "
        "the handler names it in its open message.",
        "parameters": {
            "instance": {"description": "the handler instance's id ($SRV)"},
            "stream": {"description": "the stream's token, chosen by the handler"},
        },
        "messages": {
            kind: {"$ref": f"#/components/messages/{key}.{kind}"}
            for kind in ("credit", "cancel")
        },
    }
    pointer = _pointer(control)
    operations[control] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{pointer}"},
        "title": f"{key} control",
        "summary": f"credit and cancel from a stream's client; a stream whose "
        f"client is silent for {wire.PEER_TIMEOUT:g} s ends",
        "messages": [
            {"$ref": f"#/channels/{pointer}/messages/{kind}"}
            for kind in ("credit", "cancel")
        ],
    }


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _draft07(value: Any) -> Any:
    """Rewrite draft 2020-12 keywords msgspec and pydantic emit into draft 07 ones."""
    if isinstance(value, dict):
        out = {k: _draft07(v) for k, v in value.items() if k != "prefixItems"}
        if "prefixItems" in value:
            out["items"] = _draft07(value["prefixItems"])
            if "items" in value and value["items"] is not False:
                out["additionalItems"] = _draft07(value["items"])
            else:
                out["additionalItems"] = False
        return out
    if isinstance(value, list):
        return [_draft07(v) for v in value]
    return value
