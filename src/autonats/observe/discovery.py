"""Find running services through the NATS Services API (ADR-32).

:func:`discover` works with any conforming service, autonats or not: it sends
``$SRV.INFO`` and ``$SRV.STATS`` once each with replies to one inbox, gathers
the answers of every instance, and pairs them by instance id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats.aio.client
import nats.aio.msg
import nats.errors
from autonats import _denials
from autonats._translate import nats_error
from autonats.contract import wire
from autonats.observe.service_api import (
    EndpointInfo,
    EndpointStatsInfo,
    InfoResponse,
    PingResponse,
    StatsResponse,
    control_subjects,
)

__all__ = ["Endpoint", "ServiceInstance", "discover", "ping", "stats"]

log = logging.getLogger("autonats.discovery")

#: Gathering ends this long after the last reply (or at the timeout).
QUIET_PERIOD = 0.2


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service instance: what INFO says and what STATS counts.

    Times are nanoseconds. ``metadata`` of an autonats endpoint holds
    ``request_schema``, ``reply_schema`` (JSON Schema, as JSON text),
    ``errors``, ``timeout_ms``, ``oneway``, ``durable`` and ``stream``.
    """

    name: str
    subject: str
    queue_group: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    num_requests: int = 0
    num_errors: int = 0
    last_error: str = ""
    processing_time: int = 0
    average_processing_time: int = 0
    data: Any = None


@dataclass(frozen=True)
class ServiceInstance:
    """One running instance of a service (one handler process, for autonats)."""

    name: str
    id: str
    version: str
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    started: datetime.datetime | None = None
    endpoints: tuple[Endpoint, ...] = ()
    has_info: bool = True
    has_stats: bool = True

    @property
    def prefix(self) -> str:
        """The subject prefix the instance serves under (``autonats``), read from
        its endpoints' subjects; "" when they do not follow autonats' grammar
        (another kind of NATS service)."""
        try:
            token = wire.service_token(self.name, self.version)
        except ValueError:
            return ""
        for endpoint in self.endpoints:
            tail = f".{token}.{endpoint.name}"
            if endpoint.subject.endswith(tail) and len(endpoint.subject) > len(tail):
                return endpoint.subject[: -len(tail)]
        return ""

    @property
    def major(self) -> int | None:
        """The major version, or None when the version is not semantic."""
        try:
            return wire.major(self.version)
        except ValueError:
            return None

    @property
    def num_requests(self) -> int:
        """Requests over all endpoints."""
        return sum(e.num_requests for e in self.endpoints)

    @property
    def num_errors(self) -> int:
        """Errors over all endpoints."""
        return sum(e.num_errors for e in self.endpoints)

    @property
    def processing_time(self) -> int:
        """Nanoseconds spent over all endpoints."""
        return sum(e.processing_time for e in self.endpoints)


_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    "PING": msgspec.json.Decoder(PingResponse),
    "INFO": msgspec.json.Decoder(InfoResponse),
    "STATS": msgspec.json.Decoder(StatsResponse),
}


async def _gather(
    nc: nats.aio.client.Client,
    verbs: tuple[str, ...],
    name: str | None,
    timeout: float,
    quiet: float,
) -> dict[str, list[Any]]:
    """Scatter ``$SRV.<verb>[.<name>]`` for each verb; gather replies in one inbox.

    A refused publish or inbox subscription raises PermissionDenied at once.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    inbox = nc.new_inbox()
    asked = {control_subjects(verb, name).lower() for verb in verbs}

    def ours(denial: _denials.Denial) -> bool:
        if denial.operation == "publish":
            return denial.subject in asked
        return denial.subject == f"{inbox}.*".lower()

    return await _denials.guard(nc).race(
        _scatter(nc, inbox, verbs, name, timeout, quiet), ours
    )


async def _scatter(
    nc: nats.aio.client.Client,
    inbox: str,
    verbs: tuple[str, ...],
    name: str | None,
    timeout: float,
    quiet: float,
) -> dict[str, list[Any]]:
    loop = asyncio.get_running_loop()
    replies: dict[str, list[Any]] = {verb: [] for verb in verbs}
    arrived = asyncio.Event()

    async def on_reply(msg: nats.aio.msg.Msg) -> None:
        verb = msg.subject.rsplit(".", 1)[-1]
        if verb not in replies or not msg.data:  # no-responders status, or noise
            return
        try:
            replies[verb].append(_decoders[verb].decode(msg.data))
        except msgspec.DecodeError as exc:
            log.warning("ignoring a malformed $SRV.%s reply: %s", verb, exc)
            return
        arrived.set()

    try:
        sub = await nc.subscribe(inbox + ".*", cb=on_reply)
        try:
            for verb in verbs:
                await nc.publish(control_subjects(verb, name), reply=f"{inbox}.{verb}")
            await nc.flush(timeout=max(1, int(timeout)))
            deadline = loop.time() + timeout
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                arrived.clear()
                # Before the first reply wait for the timeout; then a quiet period.
                wait = min(quiet, remaining) if any(replies.values()) else remaining
                try:
                    await asyncio.wait_for(arrived.wait(), wait)
                except asyncio.TimeoutError:
                    break
        finally:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
    except nats.errors.Error as exc:
        raise nats_error(exc) from None
    return replies


async def ping(
    nc: nats.aio.client.Client,
    name: str | None = None,
    timeout: float = 1.0,
    *,
    quiet: float = QUIET_PERIOD,
) -> list[PingResponse]:
    """The PING response of every instance (of service ``name``, or of every service)."""
    replies = await _gather(nc, ("PING",), name, timeout, quiet)
    return sorted(replies["PING"], key=lambda r: (r.name, r.id))


async def stats(
    nc: nats.aio.client.Client,
    name: str,
    timeout: float = 1.0,
    *,
    quiet: float = QUIET_PERIOD,
) -> list[StatsResponse]:
    """The STATS response of every instance of service ``name``, as sent.

    What a handler reads of its peers (outlier ejection); one scatter, no INFO.
    """
    replies = await _gather(nc, ("STATS",), name, timeout, quiet)
    return sorted(replies["STATS"], key=lambda r: r.id)


async def discover(
    nc: nats.aio.client.Client,
    name: str | None = None,
    timeout: float = 1.0,
    *,
    quiet: float = QUIET_PERIOD,
) -> list[ServiceInstance]:
    """Every running instance of service ``name`` (or of every service), with info and stats.

    Sends ``$SRV.INFO`` and ``$SRV.STATS`` and gathers the replies until
    ``quiet`` seconds pass without one, or ``timeout`` seconds in all. An
    empty list means nothing answered. Sorted by name, then id.
    """
    replies = await _gather(nc, ("INFO", "STATS"), name, timeout, quiet)
    infos: dict[tuple[str, str], InfoResponse] = {
        (r.name, r.id): r for r in replies["INFO"]
    }
    stats: dict[tuple[str, str], StatsResponse] = {
        (r.name, r.id): r for r in replies["STATS"]
    }
    return [
        _instance(infos.get(key), stats.get(key))
        for key in sorted(infos.keys() | stats.keys())
    ]


def _instance(
    info: InfoResponse | None, stats: StatsResponse | None
) -> ServiceInstance:
    first = info or stats
    assert first is not None
    counted = {e.name: e for e in stats.endpoints} if stats else {}
    endpoints = []
    described = info.endpoints if info else []
    for e in described:
        endpoints.append(_endpoint(e, counted.pop(e.name, None)))
    for only in counted.values():  # only in STATS (the INFO reply was lost)
        endpoints.append(_endpoint(None, only))
    return ServiceInstance(
        name=first.name,
        id=first.id,
        version=first.version,
        description=info.description if info else "",
        metadata=dict(first.metadata or {}),
        started=_parse_time(stats.started) if stats else None,
        endpoints=tuple(endpoints),
        has_info=info is not None,
        has_stats=stats is not None,
    )


def _endpoint(info: EndpointInfo | None, stats: EndpointStatsInfo | None) -> Endpoint:
    head = info or stats
    assert head is not None
    values: dict[str, Any] = {
        "name": head.name,
        "subject": head.subject,
        "queue_group": head.queue_group,
        "metadata": dict(info.metadata or {}) if info else {},
    }
    if stats is not None:
        values.update(
            num_requests=stats.num_requests,
            num_errors=stats.num_errors,
            last_error=stats.last_error,
            processing_time=stats.processing_time,
            average_processing_time=stats.average_processing_time,
            data=stats.data,
        )
    return Endpoint(**values)


def _parse_time(text: str) -> datetime.datetime | None:
    """RFC 3339, with any number of fraction digits (Go writes nanoseconds)."""
    if not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
        text = f"{head}.{fraction[:6].ljust(6, '0')}{zone}" if fraction else head + zone
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
