"""An error reply decided while serving a call, and how it goes on the wire."""

from __future__ import annotations

from typing import Any

from autonats.contract import codec, wire
from autonats.contract.spec import error_fields
from autonats.errors import EncodeError, ServiceError

__all__ = ["Reply", "overloaded", "service_reply"]


class Reply(Exception):
    """An error outcome of serving a call: ``code``, a safe ``message``, the
    error's wire ``kind`` (type) and declared ``fields``.

    ``cause`` is the implementation's exception, for the handler's log only:
    it never goes on the wire. ``declared``: an error the interface declares
    (a business answer, whatever its code).
    """

    def __init__(
        self,
        code: int,
        message: str,
        kind: str,
        fields: dict[str, Any] | None = None,
        cause: BaseException | None = None,
        *,
        declared: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.fields = fields or {}
        self.cause = cause
        self.declared = declared

    @property
    def internal(self) -> bool:
        """The handler's own failure: an undeclared exception or a result it
        could not send (500), or a missed deadline (504). What outlier
        ejection counts; never a declared error, a 400 or a shed 503."""
        return not self.declared and self.code in (500, 504)

    def body(self) -> bytes:
        """The JSON error body (docs/protocol.md, section 3)."""
        body = wire.ErrorBody(type=self.kind, code=self.code, message=self.message)
        if self.fields:
            body.fields = self.fields
            try:
                return codec.encode(body)
            except EncodeError:  # a field the codec cannot send: keep the error
                body.fields = {}
        return codec.encode(body)

    def headers(self) -> dict[str, str]:
        """The ADR-32 error headers."""
        return wire.error_headers(self.code, self.message)


def service_reply(exc: ServiceError) -> Reply:
    """The reply for a declared error the implementation raised."""
    declared = error_fields(type(exc))
    fields = {k: v for k, v in exc.fields.items() if k in declared} if declared else {}
    return Reply(int(exc.code), exc.message, type(exc).__name__, fields, declared=True)


def overloaded() -> Reply:
    """The 503 of a request shed because the method's slots and queue are full."""
    return Reply(503, "overloaded: try again later", "Overloaded")
