"""The NATS Services API (ADR-32): every running handler is a discoverable service instance.

A handler answers ``$SRV.PING``, ``$SRV.INFO`` and ``$SRV.STATS`` on all three
subjects of each (all services, ``.<name>``, ``.<name>.<id>``), without a queue
group so that every instance answers. The response shapes are those of the
official schemas (``io.nats.micro.v1.*_response``); docs/protocol.md, section 9,
lists what autonats puts in them.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.aio.subscription
import nats.errors
from autonats._version import __version__
from autonats.contract import codec, schema, wire
from autonats.contract.spec import MethodSpec, ServiceSpec
from autonats.observe.stats import EndpointStats, OutlierStats
from nats.nuid import NUID

__all__ = [
    "API_PREFIX",
    "INFO_RESPONSE_TYPE",
    "PING_RESPONSE_TYPE",
    "STATS_RESPONSE_TYPE",
    "EndpointInfo",
    "EndpointStatsInfo",
    "InfoResponse",
    "Instance",
    "PingResponse",
    "ServiceResponder",
    "StatsResponse",
    "control_subjects",
    "endpoint_data",
    "endpoint_metadata",
    "outlier_data",
]

log = logging.getLogger("autonats.service_api")

API_PREFIX = "$SRV"
PING_RESPONSE_TYPE = "io.nats.micro.v1.ping_response"
INFO_RESPONSE_TYPE = "io.nats.micro.v1.info_response"
STATS_RESPONSE_TYPE = "io.nats.micro.v1.stats_response"
VERBS = ("PING", "INFO", "STATS")

#: Service metadata key holding the autonats version of the handler.
VERSION_KEY = "autonats.version"


# The response shapes. Fields that ADR-32 lets other implementations send as
# null are optional here, so that discovery decodes any conforming service;
# autonats itself always sends strings and objects.


class EndpointInfo(msgspec.Struct):
    """One endpoint in an INFO response."""

    name: str
    subject: str
    queue_group: str = ""
    metadata: dict[str, str] | None = None


class EndpointStatsInfo(msgspec.Struct):
    """One endpoint in a STATS response; times are nanoseconds."""

    name: str
    subject: str
    num_requests: int = 0
    num_errors: int = 0
    last_error: str = ""
    processing_time: int = 0
    average_processing_time: int = 0
    queue_group: str = ""
    data: Any = None


class PingResponse(msgspec.Struct, kw_only=True):
    """``io.nats.micro.v1.ping_response``."""

    type: str = PING_RESPONSE_TYPE
    name: str
    id: str
    version: str
    metadata: dict[str, str] | None = None


class InfoResponse(msgspec.Struct, kw_only=True):
    """``io.nats.micro.v1.info_response``."""

    type: str = INFO_RESPONSE_TYPE
    name: str
    id: str
    version: str
    metadata: dict[str, str] | None = None
    description: str = ""
    endpoints: list[EndpointInfo] = []


class StatsResponse(msgspec.Struct, kw_only=True):
    """``io.nats.micro.v1.stats_response``; ``started`` is RFC 3339."""

    type: str = STATS_RESPONSE_TYPE
    name: str
    id: str
    version: str
    metadata: dict[str, str] | None = None
    started: str = ""
    endpoints: list[EndpointStatsInfo] = []


def control_subjects(verb: str, name: str | None = None, id: str | None = None) -> str:
    """``$SRV.<verb>``, ``$SRV.<verb>.<name>`` or ``$SRV.<verb>.<name>.<id>``."""
    parts = [API_PREFIX, verb]
    if name:
        parts.append(name)
        if id:
            parts.append(id)
    return ".".join(parts)


def _queue_group(method: MethodSpec) -> str:
    # Durable methods are pulled from a JetStream consumer, not a queue group.
    return "" if method.durable else wire.QUEUE_GROUP


def endpoint_metadata(spec: ServiceSpec, method: MethodSpec) -> dict[str, str]:
    """What an endpoint publishes about its method; ADR-32 metadata values are strings."""
    meta = {
        "oneway": "true" if method.oneway else "false",
        "durable": "true" if method.durable else "false",
        "stream": "true" if method.stream else "false",
        "timeout_ms": str(int(method.timeout * 1000)),
        "errors": json.dumps(
            [
                {"type": name, "code": int(cls.code)}
                for name, cls in sorted(spec.errors.items())
            ],
            separators=(",", ":"),
        ),
    }
    try:
        meta["request_schema"] = _compact(schema.request_schema(method))
        meta["reply_schema"] = _compact(schema.reply_schema(method))
    except Exception as exc:  # a schema is a courtesy: never let it stop a handler
        log.warning("%s.%s: no JSON Schema: %s", spec.name, method.name, exc)
    return meta


def endpoint_data(c: EndpointStats) -> dict[str, Any]:
    """An endpoint's STATS ``data`` (docs/protocol.md, section 9)."""
    data: dict[str, Any] = {
        "in_flight": c.in_flight,
        "queued": c.queued,
        "shed": c.shed,
        "dropped": c.dropped,
        "internal_errors": c.internal_errors,
    }
    if c.outlier is not None:
        data["outlier"] = outlier_data(c.outlier)
    return data


def outlier_data(o: OutlierStats) -> dict[str, Any]:
    """``data.outlier``: what peers read to decide whether to step out."""
    rejoin_in = o.rejoin_at - time.monotonic() if o.state == "ejected" else 0.0
    return {
        "state": o.state,
        "window_ms": int(o.window * 1000),
        "requests": o.requests,
        "failures": o.failures,
        "ejections": o.ejections,
        "rejoin_in_ms": max(int(rejoin_in * 1000), 0),
    }


def _compact(value: Any) -> str:
    return codec.encode(value).decode()


def rfc3339(timestamp: float) -> str:
    """``2026-11-28T07:00:00.123456Z`` (UTC), as Go and nats-py write ``started``."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Instance(Protocol):
    """What the responder reads of the handler it speaks for."""

    nc: nats.aio.client.Client
    prefix: str
    started: float | None

    @property
    def spec(self) -> ServiceSpec:
        """The service served."""
        ...

    def stats(self) -> Mapping[str, EndpointStats]:
        """Live counters by method name."""
        ...


class ServiceResponder:
    """Answers ``$SRV`` requests for one running handler (an :class:`Instance`)."""

    def __init__(self, handler: Instance, metadata: Mapping[str, str] | None = None):
        spec = handler.spec
        self.handler = handler
        self.id = NUID().next().decode()
        self.metadata = {
            **spec.metadata,
            **(metadata or {}),
            VERSION_KEY: __version__,
        }
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"service metadata must map strings to strings, not {key!r}: {value!r}"
                )
        self._subs: list[nats.aio.subscription.Subscription] = []
        self._ping = codec.encode(self.ping())
        self._info = codec.encode(self.info())

    def ping(self) -> PingResponse:
        """This instance's PING response."""
        spec = self.handler.spec
        return PingResponse(
            name=spec.name, id=self.id, version=spec.version, metadata=self.metadata
        )

    def info(self) -> InfoResponse:
        """This instance's INFO response."""
        spec = self.handler.spec
        prefix = self.handler.prefix
        return InfoResponse(
            name=spec.name,
            id=self.id,
            version=spec.version,
            metadata=self.metadata,
            description=spec.description or "",
            endpoints=[
                EndpointInfo(
                    name=method.name,
                    subject=method.subject(prefix),
                    queue_group=_queue_group(method),
                    metadata=endpoint_metadata(spec, method),
                )
                for method in spec.methods.values()
            ],
        )

    def stats(self) -> StatsResponse:
        """This instance's STATS response, from the handler's live counters."""
        handler = self.handler
        spec = handler.spec
        counters = handler.stats()
        endpoints = []
        for name, method in spec.methods.items():
            c = counters[name]
            endpoints.append(
                EndpointStatsInfo(
                    name=name,
                    subject=method.subject(handler.prefix),
                    queue_group=_queue_group(method),
                    num_requests=c.num_requests,
                    num_errors=c.num_errors,
                    last_error=c.last_error,
                    processing_time=c.processing_time,
                    average_processing_time=c.average_processing_time,
                    data=endpoint_data(c),
                )
            )
        return StatsResponse(
            name=spec.name,
            id=self.id,
            version=spec.version,
            metadata=self.metadata,
            started=rfc3339(handler.started or 0.0),
            endpoints=endpoints,
        )

    async def start(self) -> None:
        """Subscribe the nine ``$SRV`` subjects (no queue group: every instance answers)."""
        if self._subs:
            return
        nc = self.handler.nc
        name = self.handler.spec.name
        for verb in VERBS:

            async def on_request(msg: nats.aio.msg.Msg, verb: str = verb) -> None:
                await self._answer(verb, msg)

            for subject in (
                control_subjects(verb),
                control_subjects(verb, name),
                control_subjects(verb, name, self.id),
            ):
                self._subs.append(await nc.subscribe(subject, cb=on_request))

    async def stop(self) -> None:
        """Unsubscribe: the instance disappears from discovery."""
        subs, self._subs = self._subs, []
        for sub in subs:
            try:
                await sub.unsubscribe()
            except nats.errors.Error as exc:
                log.debug("unsubscribing %s failed: %s", sub.subject, exc)

    async def _answer(self, verb: str, msg: nats.aio.msg.Msg) -> None:
        if not msg.reply:
            return
        if verb == "PING":
            data = self._ping
        elif verb == "INFO":
            data = self._info
        else:
            data = codec.encode(self.stats())
        try:
            await self.handler.nc.publish(msg.reply, data)
        except nats.errors.Error as exc:
            log.warning(
                "%s: $SRV.%s reply not sent: %s", self.handler.spec.name, verb, exc
            )
