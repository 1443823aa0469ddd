"""Names and formats fixed by the wire contract (docs/protocol.md).

Kept in one module so the contract page and the code can be read side by side.
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec

__all__ = [
    "DEFAULT_PREFIX",
    "ERROR_CODE_HEADER",
    "ERROR_HEADER",
    "MAX_TIMEOUT_MS",
    "QUEUE_GROUP",
    "STATUS_HEADER",
    "TIMEOUT_HEADER",
    "ErrorBody",
    "check_prefix",
    "check_timeout",
    "consumer_name",
    "dead_letter_subject",
    "dead_stream_name",
    "error_headers",
    "parse_timeout",
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


# -- durable oneway calls (docs/protocol.md, section 10) ----------------------

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]")


def stream_name(prefix: str, service: str) -> str:
    """The JetStream stream of a service's durable calls, e.g. ``autonats_user``."""
    return _NOT_A_NAME.sub("_", f"{prefix}_{service}")


def dead_stream_name(prefix: str, service: str) -> str:
    """The stream of a service's dead letters, e.g. ``autonats_user_dead``."""
    return f"{stream_name(prefix, service)}_dead"


def consumer_name(service: str, method: str) -> str:
    """The durable consumer of one method, shared by every handler instance."""
    return _NOT_A_NAME.sub("_", f"{service}_{method}")


def dead_letter_subject(prefix: str, service: str, method: str) -> str:
    """Where calls that failed every delivery are kept: ``<prefix>.dead.<service>.<method>``."""
    return f"{prefix}.dead.{service}.{method}"
