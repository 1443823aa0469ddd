"""OpenTelemetry spans for calls, used by code generated with ``--tracing``.

Span names follow the original Go autonats: ``autonats:UserClient:get_by_id``
on the caller and ``autonats:UserServer:get_by_id`` on the handler. The
context travels in the NATS headers as W3C ``traceparent``/``tracestate``, so a
trace follows a call through handlers and the calls they make.

Needs ``opentelemetry-api`` (``pip install 'autonats[otel]'``); without it
:func:`enabled` returns None and the runtime runs no tracing code at all.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autonats.spec import MethodSpec

__all__ = ["Tracing", "current_trace_id", "enabled"]

_INSTRUMENTATION = "autonats"


def enabled() -> Tracing | None:
    """A :class:`Tracing` when opentelemetry-api is installed, else None."""
    try:
        import opentelemetry.trace  # noqa: F401
    except ImportError:
        return None
    return Tracing()


def _pascal(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[_\-]+", name) if p)


class Tracing:
    """Starts client and server spans and carries their context in headers."""

    def __init__(self) -> None:
        from opentelemetry import propagate, trace

        self._trace = trace
        self._propagate = propagate
        self._tracer = trace.get_tracer(_INSTRUMENTATION)

    @contextmanager
    def client_span(
        self, spec: MethodSpec, subject: str, headers: dict[str, str]
    ) -> Iterator[Any]:
        """A span around one outgoing call; injects its context into ``headers``."""
        trace = self._trace
        kind = trace.SpanKind.PRODUCER if spec.oneway else trace.SpanKind.CLIENT
        name = f"autonats:{_pascal(spec.service)}Client:{spec.name}"
        with self._tracer.start_as_current_span(
            name,
            kind=kind,
            attributes=_attributes(spec, subject, "publish"),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            self._propagate.inject(headers)
            yield span

    @contextmanager
    def server_span(
        self, spec: MethodSpec, subject: str, headers: dict[str, str]
    ) -> Iterator[Any]:
        """A span around serving one call, a child of the caller's span when it sent one."""
        trace = self._trace
        kind = trace.SpanKind.CONSUMER if spec.oneway else trace.SpanKind.SERVER
        name = f"autonats:{_pascal(spec.service)}Server:{spec.name}"
        parent = self._propagate.extract(headers) if headers else None
        with self._tracer.start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=_attributes(spec, subject, "process"),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    def finish(self, span: Any, code: int, error: BaseException | None = None) -> None:
        """Record the call's outcome: reply code 0 is success."""
        span.set_attribute("rpc.response.status_code", str(code))
        if code:
            span.set_attribute("error.type", str(code))
            if error is not None:
                span.record_exception(error)
            status = self._trace.Status(self._trace.StatusCode.ERROR, f"code {code}")
            span.set_status(status)

    def fail(self, span: Any, error: BaseException) -> None:
        """Record a call that ended with ``error`` on the client."""
        code = getattr(error, "code", 0)
        span.set_attribute("error.type", type(error).__name__)
        if isinstance(code, int) and code:
            span.set_attribute("rpc.response.status_code", str(code))
        span.record_exception(error)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(error)))


def _attributes(spec: MethodSpec, subject: str, operation: str) -> dict[str, str]:
    return {
        "rpc.system": "autonats",
        "rpc.service": spec.service,
        "rpc.method": spec.name,
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.operation.type": operation,
    }


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "" (never imports opentelemetry)."""
    if "opentelemetry.trace" not in sys.modules:
        return ""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
