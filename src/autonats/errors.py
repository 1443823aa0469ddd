"""The autonats error tree.

::

    AutonatsError
    ├── DeclarationError        a Protocol cannot be turned into RPC (generator)
    ├── EncodeError             an argument or a return value cannot be encoded
    ├── ProtocolError           a peer sent something the contract does not allow
    ├── ConnectionError         cannot connect, or the connection is closed or draining
    ├── PermissionDenied        the NATS server refused a publish or subscribe
    ├── TimeoutError            the call's deadline passed (also builtins.TimeoutError)
    ├── NoRespondersError       nobody serves the method
    ├── CircuitOpenError        the client's breaker for the method is open: nothing sent
    ├── RemoteError             the handler replied with an error (code, message)
    │   ├── BadRequestError        400: the request did not decode or validate
    │   ├── InternalServerError    500: the implementation raised an undeclared error
    │   └── OverloadedError        503: the handler shed the request
    └── ServiceError            base for errors declared in an interface module

Errors from nats-py and msgspec are translated into these at one boundary
(:mod:`autonats._translate`); nothing else of theirs reaches a caller.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

__all__ = [
    "AutonatsError",
    "BadRequestError",
    "CircuitOpenError",
    "ConnectionError",
    "DeclarationError",
    "EncodeError",
    "InternalServerError",
    "NoRespondersError",
    "OverloadedError",
    "PermissionDenied",
    "ProtocolError",
    "RemoteError",
    "ServiceError",
    "TimeoutError",
]


class AutonatsError(Exception):
    """Base of every error autonats raises."""


class DeclarationError(AutonatsError):
    """A service declaration cannot be turned into RPC. The declaration's fault.

    ``str()`` is ``file:line: message`` so editors and CI logs can jump to it.
    """

    def __init__(self, message: str, *, file: str = "", line: int = 0) -> None:
        self.message = message
        self.file = file
        self.line = line
        location = f"{file}:{line}: " if file else ""
        super().__init__(f"{location}{message}")


class EncodeError(AutonatsError, builtins.TypeError):
    """An argument or return value is not of a type the codec can send. The caller's fault."""


class ProtocolError(AutonatsError):
    """A message broke the wire contract (e.g. a reply that does not match the
    declared return type). Usually a client and handler built from different
    versions of an interface."""


class ConnectionError(AutonatsError, builtins.ConnectionError):
    """No connection: the server is unreachable or refused us (credentials, TLS,
    a missing credentials file), or the connection is closed, draining or
    reconnecting past the deadline. The message never holds a secret."""


class PermissionDenied(AutonatsError):
    """The NATS server refused this connection's user a publish or a subscribe.

    The deployment's fault: the user's permissions (nats-server ``authorization``,
    or the user JWT) do not allow ``subject``; ``autonats permissions`` prints
    what a handler or client needs. nats-server reports a refusal
    asynchronously; autonats pins it on the call (or ``Handler.run()``) that
    caused it, so it is raised at once instead of waiting out the timeout.
    ``operation`` is ``"publish"`` or ``"subscribe"``. The request was not
    delivered to any handler.
    """

    def __init__(self, message: str, *, subject: str = "", operation: str = "") -> None:
        self.subject = subject
        self.operation = operation
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_denied, (str(self), self.subject, self.operation))


def _rebuild_denied(message: str, subject: str, operation: str) -> PermissionDenied:
    return PermissionDenied(message, subject=subject, operation=operation)


class TimeoutError(AutonatsError, builtins.TimeoutError):
    """The call's deadline passed before a reply arrived (or the handler replied 504).

    The request may or may not have been executed.
    """


class NoRespondersError(AutonatsError):
    """No handler is subscribed to the method's subject. Raised at once, without
    waiting for the timeout; the request was not executed."""


class CircuitOpenError(AutonatsError):
    """The client's circuit breaker for the method is open: the call was not sent.

    Recent calls of the method failed as an unhealthy service fails (timeouts,
    no responders, overload, internal errors), so the client fails fast instead
    of adding to the pile. ``retry_after`` is how many seconds remain until the
    breaker lets a few probe calls through (0 while those probes run).
    Nobody's fault in particular: the service is sick, or unreachable.
    """

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_circuit_open, (self.args[0], self.retry_after))


def _rebuild_circuit_open(message: str, retry_after: float) -> CircuitOpenError:
    return CircuitOpenError(message, retry_after=retry_after)


class RemoteError(AutonatsError):
    """The handler replied with an error that is not a declared :class:`ServiceError`.

    ``code`` follows HTTP (400, 500, 503, 504), ``message`` is safe to show:
    handlers never put tracebacks or exception text of undeclared errors in it.
    ``type`` is the error's type name as sent by the handler.
    """

    code: int
    message: str

    def __init__(self, code: int, message: str, *, type: str = "") -> None:
        self.code = code
        self.message = message
        self.type = type
        super().__init__(f"{code}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_remote, (type(self), self.code, self.message, self.type))


def _rebuild_remote(
    cls: type[RemoteError], code: int, message: str, kind: str
) -> RemoteError:
    return cls(code, message, type=kind)


class BadRequestError(RemoteError):
    """400: the request did not decode or validate; ``message`` says which parameter and why."""


class InternalServerError(RemoteError):
    """500: the implementation raised an undeclared exception (details are in the handler's log)."""


class OverloadedError(RemoteError):
    """503: every handler that received the request was at its concurrency and queue limit.

    Clients retry these with backoff while the deadline allows; this is raised after that.
    """


class ServiceError(AutonatsError):
    """Base class for errors an interface declares.

    Subclass it in the interface module, set ``code`` and annotate any fields::

        class UserNotFound(autonats.ServiceError):
            code = 404
            id: str

        raise UserNotFound("no such user", id="42")

    An implementation raising it sends it to the caller, where the client
    raises the same class with the same message and fields.
    """

    code: ClassVar[int] = 500

    def __init__(self, message: str = "", **fields: Any) -> None:
        self.message = message
        for name, value in fields.items():
            setattr(self, name, value)
        self._fields = fields
        super().__init__(message)

    @property
    def fields(self) -> dict[str, Any]:
        """The keyword fields the error was raised with."""
        return dict(self._fields)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_service, (type(self), self.message, self._fields))

    def __repr__(self) -> str:
        args = [repr(self.message), *(f"{k}={v!r}" for k, v in self._fields.items())]
        return f"{type(self).__name__}({', '.join(args)})"


def _rebuild_service(
    cls: type[ServiceError], message: str, fields: dict[str, Any]
) -> ServiceError:
    return cls(message, **fields)


#: Remote error class by HTTP-like code; anything else is a plain RemoteError.
REMOTE_ERRORS: dict[int, type[RemoteError]] = {
    400: BadRequestError,
    500: InternalServerError,
    503: OverloadedError,
}
