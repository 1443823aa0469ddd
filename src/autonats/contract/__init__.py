"""The contract: what clients and handlers agree on, with no NATS I/O.

- :mod:`~autonats.contract.declare`: the decorators that mark a Protocol as a service;
- :mod:`~autonats.contract.spec`: the runtime description built from it;
- :mod:`~autonats.contract.codec`: JSON encoding and validating decoding;
- :mod:`~autonats.contract.schema`: JSON Schema and AsyncAPI documents;
- :mod:`~autonats.contract.wire`: names and formats fixed by docs/protocol.md.

Generated modules call :func:`build` with :class:`MethodOptions` (and
:class:`Breaker` for a method declared with a circuit breaker).
"""

from __future__ import annotations

from autonats.contract.declare import Breaker, MethodOptions
from autonats.contract.spec import MethodSpec, ServiceSpec, build

__all__ = ["Breaker", "MethodOptions", "MethodSpec", "ServiceSpec", "build"]
