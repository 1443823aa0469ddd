"""Least-privilege NATS permissions, derived from a service's contract.

A NATS user that runs handlers, calls services, or both, needs exactly the
subjects below; ``autonats permissions`` prints them for nats-server or nsc,
and a handler uses the same list to tell its own refusals from others'.

What each kind of method needs is decided in one place, :func:`method_permissions`:

=========  ==============================================  ============================================
kind       handler                                          client
=========  ==============================================  ============================================
request    subscribe ``<subject> q``; one reply             publish ``<subject>``; subscribe its inbox
oneway     subscribe ``<subject> q``                        publish ``<subject>``
durable    the JetStream API of its consumer and streams,   publish ``<subject>``; look up or create the
           the dead-letter subject, its inbox; one ack      work stream; subscribe its inbox
stream     subscribe ``<subject> q`` and the control        publish ``<subject>`` and the control
           subjects ``<subject>.*.*``; any number of        subjects ``<subject>.*.*`` (credit,
           replies (items) for :data:`STREAM_EXPIRES`       cancel); subscribe its inbox
=========  ==============================================  ============================================

Every handler also answers ``$SRV`` discovery (subscribe, replies). Replies
and JetStream acknowledgements go through nats-server's ``allow_responses``
(publish to the reply subject of a message received, ``max`` times within
``expires``), so they need no rule that depends on another user's inbox or
on the format of JetStream's ack subjects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import nats.aio.client
from autonats._denials import Denial, subject_matches
from autonats.contract import wire
from autonats.contract.spec import MethodSpec, ServiceSpec
from autonats.observe.service_api import VERBS, control_subjects

__all__ = [
    "DEFAULT_INBOX_PREFIX",
    "JS_API",
    "Permissions",
    "Responses",
    "for_client",
    "for_handler",
    "inbox_prefix_of",
    "method_kind",
    "method_permissions",
]

#: nats-py's (and every NATS client's) default inbox prefix.
DEFAULT_INBOX_PREFIX = "_INBOX"
#: The JetStream API (no domain, no custom API prefix).
JS_API = "$JS.API"
#: nats-server's own ``allow_responses: true``: one reply within two minutes.
DEFAULT_RESPONSE_EXPIRES = 120.0
#: Time a reply or an ack may take past the method's declared timeout.
RESPONSE_MARGIN = 60.0
#: How long a stream's handler may keep sending items to one request (seconds):
#: nats-server's ``expires`` of its ``allow_responses``. A stream that runs
#: longer needs the user's ``allow_responses`` raised by hand.
STREAM_EXPIRES = 24 * 3600.0

Role = Literal["handler", "client"]


@dataclass(frozen=True)
class Responses:
    """nats-server's ``allow_responses``: replies per request received, and for how long.

    ``max`` is -1 for any number (a method that replies several times).
    """

    max: int = 1
    expires: float = DEFAULT_RESPONSE_EXPIRES

    def __or__(self, other: Responses) -> Responses:
        most = -1 if -1 in (self.max, other.max) else max(self.max, other.max)
        return Responses(most, max(self.expires, other.expires))


@dataclass(frozen=True)
class Permissions:
    """Subjects one NATS user may publish to and subscribe to (``"<subject> <queue>"``
    allows a subscription in that queue group only), and the replies it may send."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    responses: Responses | None = None

    def __or__(self, other: Permissions) -> Permissions:
        responses = self.responses
        if other.responses is not None:
            responses = (
                other.responses if responses is None else responses | other.responses
            )
        return Permissions(
            _union(self.publish, other.publish),
            _union(self.subscribe, other.subscribe),
            responses,
        )

    def covers(self, denial: Denial) -> bool:
        """Whether a refusal is of a subject these permissions are about."""
        patterns = self.publish if denial.operation == "publish" else self.subscribe
        return any(subject_matches(p.split(" ")[0], denial.subject) for p in patterns)

    def to_json(self) -> dict[str, Any]:
        """The nats-server ``permissions`` object of a ``users`` entry.

        An empty side is ``{"deny": [">"]}``: an empty ``allow`` list would be
        read as no restriction at all.
        """
        result: dict[str, Any] = {
            "publish": _side(self.publish),
            "subscribe": _side(self.subscribe),
        }
        if self.responses is not None:
            result["allow_responses"] = {
                "max": self.responses.max,
                "expires": duration(self.responses.expires),
            }
        return result


def inbox_prefix_of(nc: nats.aio.client.Client) -> str:
    """The inbox prefix a connection was made with (``_INBOX`` by default)."""
    return nc.new_inbox().rpartition(".")[0]


def duration(seconds: float) -> str:
    """A nats-server duration: ``"2m"``, ``"1h5m"``, ``"90s"`` (whole seconds, rounded up)."""
    total = max(math.ceil(seconds), 1)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs else "")


def _side(allow: tuple[str, ...]) -> dict[str, list[str]]:
    return {"allow": list(allow)} if allow else {"deny": [">"]}


def _union(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


def method_kind(method: MethodSpec) -> str:
    """``request``, ``oneway``, ``durable`` or ``stream``: what decides a
    method's permissions."""
    if method.stream:
        return "stream"
    if method.durable:
        return "durable"
    if method.oneway:
        return "oneway"
    return "request"


def method_permissions(
    role: Role,
    service: ServiceSpec,
    method: MethodSpec,
    *,
    prefix: str = wire.DEFAULT_PREFIX,
    inbox_prefix: str = DEFAULT_INBOX_PREFIX,
) -> Permissions:
    """What ``role`` needs for one method: the one place a kind of method maps to rules."""
    subject = method.subject(prefix)
    inbox = f"{inbox_prefix}.>"
    # A reply (or ack) may come as late as the method's deadline allows.
    replies = Responses(
        1, max(DEFAULT_RESPONSE_EXPIRES, method.timeout + RESPONSE_MARGIN)
    )
    kind = method_kind(method)
    work = wire.stream_name(prefix, service.name, service.version)
    # A stream's credit, heartbeats and cancel: <subject>.<instance>.<token>.
    control = f"{subject}.*.*"
    if role == "handler":
        if kind == "request":
            return Permissions(
                subscribe=(f"{subject} {wire.QUEUE_GROUP}",), responses=replies
            )
        if kind == "stream":
            return Permissions(
                subscribe=(f"{subject} {wire.QUEUE_GROUP}", control),
                responses=Responses(-1, STREAM_EXPIRES),
            )
        if kind == "oneway":
            return Permissions(subscribe=(f"{subject} {wire.QUEUE_GROUP}",))
        consumer = wire.consumer_name(service.name, method.name, service.version)
        streams = (work, wire.dead_stream_name(prefix, service.name, service.version))
        return Permissions(
            publish=(
                *(
                    f"{JS_API}.STREAM.{verb}.{stream}"
                    for stream in streams
                    for verb in ("INFO", "CREATE", "UPDATE")
                ),
                f"{JS_API}.CONSUMER.INFO.{work}.{consumer}",
                f"{JS_API}.CONSUMER.CREATE.{work}.{consumer}.{subject}",
                f"{JS_API}.CONSUMER.MSG.NEXT.{work}.{consumer}",
                wire.dead_letter_subject(
                    prefix, service.name, method.name, service.version
                ),
            ),
            subscribe=(inbox,),
            # The ack (or nak) is the one reply to each delivery.
            responses=replies,
        )
    if kind == "request":
        return Permissions(publish=(subject,), subscribe=(inbox,))
    if kind == "stream":
        return Permissions(publish=(subject, control), subscribe=(inbox,))
    if kind == "oneway":
        return Permissions(publish=(subject,))
    return Permissions(
        publish=(
            f"{JS_API}.STREAM.INFO.{work}",
            f"{JS_API}.STREAM.CREATE.{work}",
            subject,
        ),
        subscribe=(inbox,),
    )


def for_handler(
    service: ServiceSpec,
    *,
    prefix: str = wire.DEFAULT_PREFIX,
    inbox_prefix: str = DEFAULT_INBOX_PREFIX,
) -> Permissions:
    """What a user needs to run handlers of ``service``: its methods and ``$SRV``."""
    found = Permissions(
        subscribe=tuple(
            subject
            for verb in VERBS
            for subject in (
                control_subjects(verb),
                control_subjects(verb, service.name),
                control_subjects(verb, service.name, "*"),
            )
        ),
        responses=Responses(),
    )
    for method in service.methods.values():
        found |= method_permissions(
            "handler", service, method, prefix=prefix, inbox_prefix=inbox_prefix
        )
    return found


def for_client(
    service: ServiceSpec,
    *,
    prefix: str = wire.DEFAULT_PREFIX,
    inbox_prefix: str = DEFAULT_INBOX_PREFIX,
    discovery: bool = False,
) -> Permissions:
    """What a user needs to call ``service`` (and, with ``discovery``, to ask its
    instances ``$SRV.PING/INFO/STATS``)."""
    found = Permissions()
    for method in service.methods.values():
        found |= method_permissions(
            "client", service, method, prefix=prefix, inbox_prefix=inbox_prefix
        )
    if discovery:
        found |= Permissions(
            publish=tuple(
                subject
                for verb in VERBS
                for subject in (
                    control_subjects(verb, service.name),
                    control_subjects(verb, service.name, "*"),
                )
            ),
            subscribe=(f"{inbox_prefix}.>",),
        )
    return found
