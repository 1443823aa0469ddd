"""Names and formats fixed by the wire contract (docs/protocol.md).

Kept in one module so the contract page and the code can be read side by side.
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec

__all__ = [
    "CONTROL_HEADER",
    "CREDIT_BYTES_HEADER",
    "CREDIT_HEADER",
    "DEFAULT_PREFIX",
    "ERROR_CODE_HEADER",
    "ERROR_HEADER",
    "HEARTBEAT_INTERVAL",
    "ITEMS_HEADER",
    "MAX_COUNT",
    "MAX_TIMEOUT_MS",
    "PEER_TIMEOUT",
    "QUEUE_GROUP",
    "RETRY_FIRST",
    "RETRY_MAX",
    "STATUS_HEADER",
    "STREAM_CANCEL",
    "STREAM_CREDIT",
    "STREAM_END",
    "STREAM_HEADER",
    "STREAM_HEARTBEAT",
    "STREAM_OPEN",
    "TIMEOUT_HEADER",
    "ErrorBody",
    "check_prefix",
    "check_timeout",
    "consumer_name",
    "control_subject",
    "dead_letter_subject",
    "dead_stream_name",
    "error_headers",
    "major",
    "method_subject",
    "parse_count",
    "parse_timeout",
    "service_key",
    "service_token",
    "split_service",
    "stream_name",
    "timeout_header",
]

#: Subjects are ``<prefix>.<service>.<method>``.
DEFAULT_PREFIX = "autonats"
#: Every handler of every service subscribes in this queue group (ADR-32's default).
QUEUE_GROUP = "q"
#: Remaining time of the call, in whole milliseconds, as the client saw it when sending.
TIMEOUT_HEADER = "Autonats-Timeout"
#: NATS Services API (ADR-32) error headers.
ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"
#: nats-server's status header; "503" on an empty reply means no responders.
STATUS_HEADER = "Status"
#: The largest ``Autonats-Timeout`` value (9 digits, about 11.5 days); clients
#: never send more, handlers refuse longer values as malformed.
MAX_TIMEOUT_MS = 999_999_999
#: Backoff of a client retrying a request shed with 503 ``Overloaded`` (never
#: started, so safe to retry): the first pause, doubled up to the last one.
RETRY_FIRST = 0.005
RETRY_MAX = 0.25

_TIMEOUT_RE = re.compile(r"[0-9]{1,9}")
# A subject token: no whitespace, no wildcard, no dot (nats-server's rules).
_PREFIX_RE = re.compile(r"[^\s.*>]+(?:\.[^\s.*>]+)*")


def timeout_header(seconds: float) -> str:
    """The ``Autonats-Timeout`` value for ``seconds`` of remaining time."""
    return str(min(max(int(seconds * 1000), 0), MAX_TIMEOUT_MS))


def parse_timeout(value: str) -> float:
    """Seconds from an ``Autonats-Timeout`` value: 1 to 9 ASCII digits, nothing else.

    Raises ``ValueError`` for anything else (signs, fractions, spaces, longer
    numbers): docs/protocol.md, section 2.
    """
    if not _TIMEOUT_RE.fullmatch(value):
        raise ValueError(
            f"the {TIMEOUT_HEADER} header must be whole milliseconds, "
            f"1 to 9 digits (not {value[:20]!r})"
        )
    return int(value) / 1000


def check_timeout(timeout: float) -> float:
    """``timeout`` if it is a finite number of seconds above 0, else ``ValueError``."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
        or timeout * 1000 > MAX_TIMEOUT_MS
    ):
        raise ValueError(
            f"timeout must be a finite number of seconds above 0 and at most "
            f"{MAX_TIMEOUT_MS // 1000}, not {timeout!r}"
        )
    return float(timeout)


def check_prefix(prefix: str) -> str:
    """``prefix`` if it can start a subject (tokens without spaces or wildcards)."""
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(
            f"prefix {prefix!r} is not a subject prefix: use dot-separated tokens "
            "without spaces, '*' or '>', e.g. 'autonats' or 'acme.prod'"
        )
    return prefix


_MAX_HEADER_MESSAGE = 512


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """The JSON body of an error reply."""

    type: str
    code: int
    message: str
    fields: dict[str, Any] = {}


error_body_decoder = msgspec.json.Decoder(ErrorBody)


def error_headers(code: int, message: str) -> dict[str, str]:
    """ADR-32 error headers; the message is flattened to one safe header line."""
    line = " ".join(message.split())[:_MAX_HEADER_MESSAGE]
    return {ERROR_HEADER: line, ERROR_CODE_HEADER: str(code)}


# -- subjects (docs/protocol.md, section 1) -----------------------------------


def major(version: str) -> int:
    """The major number of a semantic version: ``"2.1.0"`` -> 2."""
    head = version.partition(".")[0]
    if not head.isdigit():
        raise ValueError(f"{version!r} is not a semantic version")
    return int(head)


def service_token(service: str, version: str) -> str:
    """How a service appears in its subjects: ``user`` for versions 0.x (no
    compatibility promised, the subjects of autonats before versions), else
    ``user.v<MAJOR>``. Minor and patch versions never change subjects."""
    number = major(version)
    return service if number < 1 else f"{service}.v{number}"


def method_subject(prefix: str, service: str, version: str, method: str) -> str:
    """``<prefix>.<service>[.v<MAJOR>].<method>``, e.g. ``autonats.user.v2.get_by_id``."""
    return f"{prefix}.{service_token(service, version)}.{method}"


def split_service(text: str) -> tuple[str, str]:
    """A service as commands name it, ``user`` or ``user.v2``, as (name, a
    version of that major): ``("user", "0.0.0")``, ``("user", "2.0.0")``."""
    name, dot, token = text.partition(".")
    if dot and token[:1] == "v" and token[1:].isdigit() and int(token[1:]) >= 1:
        return name, f"{int(token[1:])}.0.0"
    if dot:
        raise ValueError(
            f"{text!r}: expected a service name, or a name and a major version "
            "such as user.v2"
        )
    return name, "0.0.0"


def service_key(service: str, version: str) -> str:
    """A service's major version as one name token: ``user`` (0.x) or ``user_v2``."""
    number = major(version)
    return service if number < 1 else f"{service}_v{number}"


# -- durable oneway calls (docs/protocol.md, section 10) ----------------------

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(prefix: str, service: str, version: str = "0.0.0") -> str:
    """The JetStream stream of a service's durable calls, e.g. ``autonats_user``
    (``autonats_user_v2`` for version 2.x)."""
    return _NOT_A_NAME.sub("_", f"{prefix}_{service_key(service, version)}")


def dead_stream_name(prefix: str, service: str, version: str = "0.0.0") -> str:
    """The stream of a service's dead letters, e.g. ``autonats_user_dead``."""
    return f"{stream_name(prefix, service, version)}_dead"


def consumer_name(service: str, method: str, version: str = "0.0.0") -> str:
    """The durable consumer of one method, shared by every handler instance,
    e.g. ``user_touch`` (``user_v2_touch`` for version 2.x)."""
    return _NOT_A_NAME.sub("_", f"{service_key(service, version)}_{method}")


def dead_letter_subject(
    prefix: str, service: str, method: str, version: str = "0.0.0"
) -> str:
    """Where calls that failed every delivery are kept:
    ``<prefix>.dead.<service>[.v<MAJOR>].<method>``."""
    return f"{prefix}.dead.{service_token(service, version)}.{method}"


# -- server streams (docs/protocol.md, section 11) ----------------------------

#: The kind of a stream's control message (items carry no headers at all).
STREAM_HEADER = "Autonats-Stream"
#: Handler -> client: the stream started; ``Autonats-Control`` says where to
#: send credit and cancel.
STREAM_OPEN = "open"
#: Handler -> client: nothing else to send lately; ``Autonats-Items`` so far.
STREAM_HEARTBEAT = "heartbeat"
#: Handler -> client: the last item was sent; ``Autonats-Items`` in all.
STREAM_END = "end"
#: Client -> handler: ``Autonats-Credit`` items accepted in all (also its heartbeat).
STREAM_CREDIT = "credit"
#: Client -> handler: stop the stream (idempotent).
STREAM_CANCEL = "cancel"
#: Items the client accepts in total since the stream opened (request, credit).
CREDIT_HEADER = "Autonats-Credit"
#: Optional: bytes of items (bodies) the client accepts in total since the
#: stream opened; the handler sends an item only while it has sent fewer.
CREDIT_BYTES_HEADER = "Autonats-Credit-Bytes"
#: Where the client sends credit and cancel (the handler's open message).
CONTROL_HEADER = "Autonats-Control"
#: Items the handler has sent so far (heartbeat, end).
ITEMS_HEADER = "Autonats-Items"
#: Each side of a stream sends its peer a message at least this often (seconds).
HEARTBEAT_INTERVAL = 1.0
#: A side that hears nothing from its peer for this long (seconds) gives up.
PEER_TIMEOUT = 5.0
#: The largest count (credit, items) a stream message carries: 18 digits.
MAX_COUNT = 10**18 - 1

_COUNT_RE = re.compile(r"[0-9]{1,18}")


def control_subject(method_subject: str, instance: str, stream: str) -> str:
    """Where a stream's client sends credit and cancel: ``<method subject>.<instance>.<stream>``."""
    return f"{method_subject}.{instance}.{stream}"


def parse_count(header: str, value: str | None) -> int:
    """A count (``Autonats-Credit``, ``Autonats-Items``): 1 to 18 ASCII digits.

    Raises ``ValueError`` naming ``header`` for anything else, a missing value included.
    """
    if value is None or not _COUNT_RE.fullmatch(value):
        shown = "missing" if value is None else f"not {value[:20]!r}"
        raise ValueError(
            f"the {header} header must be a count of items, 1 to 18 digits ({shown})"
        )
    return int(value)
