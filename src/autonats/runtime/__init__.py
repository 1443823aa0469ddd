"""The runtime: calls and serving over NATS.

- :mod:`~autonats.runtime.client`: :class:`Client` and its one call pipeline;
  :class:`Call` / :class:`Publish` / :class:`StreamCall`, one per generated
  client method; :mod:`~autonats.runtime.stream`: the :class:`Stream` a
  stream method returns.
- :mod:`~autonats.runtime.handler`: :class:`Handler` and its one path to
  serve a message; :mod:`~autonats.runtime.durable` is its JetStream transport,
  :mod:`~autonats.runtime.stream_handler` serves stream methods.
- :mod:`~autonats.runtime.breaker`: a client's circuit breaker per method;
  :mod:`~autonats.runtime.outlier`: a handler stepping out of a queue group
  when it fails far more than its peers (:class:`OutlierEjection`).
- :mod:`~autonats.runtime.sync`: blocking calls (``autonats.sync``):
  :class:`SyncServiceClient` and its :class:`SyncCall` / :class:`SyncStreamCall`.
- :mod:`~autonats.runtime.context`: the call being served (``current_call()``).
- :mod:`~autonats.runtime.deadlines`, :mod:`~autonats.runtime.inbox`,
  :mod:`~autonats.runtime.endpoint`, :mod:`~autonats.runtime.reply`: their parts.

Generated modules use the names re-exported here. They load on first use, so
that importing an interface module (which imports :mod:`autonats`) does not
import nats-py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autonats.runtime.client import (
        Call,
        Client,
        Publish,
        ServiceClient,
        StreamCall,
    )
    from autonats.runtime.handler import Handler
    from autonats.runtime.outlier import OutlierEjection
    from autonats.runtime.stream import Stream
    from autonats.runtime.sync import (
        SyncCall,
        SyncServiceClient,
        SyncStream,
        SyncStreamCall,
    )

__all__ = [
    "Call",
    "Client",
    "Handler",
    "OutlierEjection",
    "Publish",
    "ServiceClient",
    "Stream",
    "StreamCall",
    "SyncCall",
    "SyncServiceClient",
    "SyncStream",
    "SyncStreamCall",
]

_HOMES = {
    "Call": "autonats.runtime.client",
    "Client": "autonats.runtime.client",
    "Publish": "autonats.runtime.client",
    "ServiceClient": "autonats.runtime.client",
    "StreamCall": "autonats.runtime.client",
    "Handler": "autonats.runtime.handler",
    "OutlierEjection": "autonats.runtime.outlier",
    "Stream": "autonats.runtime.stream",
    "SyncCall": "autonats.runtime.sync",
    "SyncServiceClient": "autonats.runtime.sync",
    "SyncStream": "autonats.runtime.sync",
    "SyncStreamCall": "autonats.runtime.sync",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'autonats.runtime' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
