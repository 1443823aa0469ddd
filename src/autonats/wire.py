"""Names and formats fixed by the wire contract (docs/protocol.md).

Kept in one module so the contract page and the code can be read side by side.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "DEFAULT_PREFIX",
    "ERROR_CODE_HEADER",
    "ERROR_HEADER",
    "QUEUE_GROUP",
    "STATUS_HEADER",
    "TIMEOUT_HEADER",
    "ErrorBody",
    "error_headers",
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
