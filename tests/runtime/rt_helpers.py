"""Small helpers shared by the runtime tests."""

from __future__ import annotations

import json
from typing import Any

import nats.aio.client
import nats.aio.msg
from autonats.contract import wire
from support import eventually

__all__ = ["error_of", "eventually", "is_success", "request"]


async def request(
    nc: nats.aio.client.Client,
    subject: str,
    body: bytes | dict[str, Any] = b"",
    *,
    timeout_ms: int | None = None,
    timeout: float = 5.0,
) -> nats.aio.msg.Msg:
    """A plain nats-py request, as a program knowing only the wire contract sends it."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = None if timeout_ms is None else {wire.TIMEOUT_HEADER: str(timeout_ms)}
    return await nc.request(subject, data, timeout=timeout, headers=headers)


def error_of(msg: nats.aio.msg.Msg) -> tuple[int, str, dict[str, Any]]:
    """(code from the header, message header, decoded body) of an error reply;
    checks that headers and body agree."""
    headers = msg.headers or {}
    assert "Nats-Service-Error-Code" in headers, f"not an error reply: {msg!r}"
    code = int(headers["Nats-Service-Error-Code"])
    body = json.loads(msg.data)
    assert body["code"] == code
    assert headers["Nats-Service-Error"] == " ".join(body["message"].split())[:512]
    return code, headers["Nats-Service-Error"], body


def is_success(msg: nats.aio.msg.Msg) -> bool:
    """No error headers at all."""
    headers = msg.headers or {}
    return (
        "Nats-Service-Error-Code" not in headers and "Nats-Service-Error" not in headers
    )
