"""autonats: a typed service mesh over NATS, generated from Python Protocol declarations.

Declare a ``typing.Protocol`` with :func:`service`, run ``autonats generate``,
then serve it with the generated ``<Name>Handler`` and call it with the
generated ``<Name>Client`` (or, from code that is not async, the
``<Name>SyncClient`` over :func:`autonats.sync.connect`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autonats._version import __version__
from autonats.contract.declare import Breaker, method, oneway, service
from autonats.errors import (
    AutonatsError,
    BadRequestError,
    CircuitOpenError,
    ConnectionError,
    DeclarationError,
    EncodeError,
    InternalServerError,
    NoRespondersError,
    OverloadedError,
    PermissionDenied,
    ProtocolError,
    RemoteError,
    ServiceError,
    TimeoutError,
)
from autonats.runtime.context import Call, current_call

if TYPE_CHECKING:
    from autonats.observe.discovery import discover
    from autonats.runtime.connect import connect

__all__ = [
    "AutonatsError",
    "BadRequestError",
    "Breaker",
    "Call",
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
    "__version__",
    "connect",
    "current_call",
    "discover",
    "method",
    "oneway",
    "service",
]


def __getattr__(name: str) -> Any:
    # Interface modules import autonats for its decorators; the discovery
    # client, the connection resolver and the blocking client (and nats-py
    # with them) load only when asked for: ``autonats.sync.connect()`` works
    # after ``import autonats``.
    if name == "discover":
        from autonats.observe.discovery import discover

        return discover
    if name == "connect":
        from autonats.runtime.connect import connect

        return connect
    if name == "sync":
        import importlib

        return importlib.import_module("autonats.sync")
    raise AttributeError(f"module 'autonats' has no attribute {name!r}")
