"""OpenTelemetry spans for calls, used by code generated with ``--tracing``.

Span names follow the original Go autonats: ``autonats:UserClient:get_by_id``
on the caller and ``autonats:UserServer:get_by_id`` on the handler. The
context travels in the NATS headers as W3C ``traceparent``/``tracestate``, so a
trace follows a call through handlers and the calls they make.

Needs ``opentelemetry-api`` (``pip install 'autonats[otel]'``); without it
:func:`enabled` returns None and the runtime runs no tracing code at all.

The W3C headers are written and read here directly rather than through the
globally configured propagator: the contract fixes them, and it keeps a span's
cost on the hot path to what the SDK itself needs.
"""

from __future__ import annotations

import re
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autonats.contract.spec import MethodSpec

__all__ = ["Tracing", "current_trace_id", "enabled"]

_INSTRUMENTATION = "autonats"
_UNSAMPLED_FLAGS = frozenset(f"{n:02x}" for n in range(0, 256, 2))
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

#: The headers of the call the current task serves: a call served inside an
#: unsampled trace has no span, and its calls pass that trace on from here.
_serving: ContextVar[dict[str, str] | None] = ContextVar(
    "autonats_traced_call", default=None
)


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
        from opentelemetry import context, trace

        self._trace = trace
        self._context = context
        # A request without a trace context starts a new trace: its span must
        # not take a parent from whatever was current where run() was called
        # (subscription tasks copy that context).
        self._no_parent = context.Context()
        self._current_span = trace.get_current_span  # per call: bound once
        self._tracer = trace.get_tracer(_INSTRUMENTATION)
        self._names: dict[tuple[int, bool], tuple[str, Any, dict[str, str]]] = {}
        self._provider: object = None
        self._parent_based = False

    def _follows_parent(self) -> bool:
        """True when the SDK's sampler decides children by their parent (its
        default, ParentBased): then an unsampled parent's child is never
        recorded, and no span needs to be made for it at all."""
        provider = self._trace.get_tracer_provider()
        if provider is not self._provider:
            self._provider = provider
            try:
                from opentelemetry.sdk.trace.sampling import ParentBased
            except ImportError:
                self._parent_based = False
            else:
                sampler = getattr(provider, "sampler", None)
                self._parent_based = isinstance(sampler, ParentBased)
        return self._parent_based

    def _describe(
        self, spec: MethodSpec, subject: str, client: bool
    ) -> tuple[str, Any, Any]:
        key = (id(spec), client)
        found = self._names.get(key)
        if found is None:
            kinds = self._trace.SpanKind
            if client:
                name = f"autonats:{_pascal(spec.service)}Client:{spec.name}"
                kind = kinds.PRODUCER if spec.oneway else kinds.CLIENT
            else:
                name = f"autonats:{_pascal(spec.service)}Server:{spec.name}"
                kind = kinds.CONSUMER if spec.oneway else kinds.SERVER
            attributes = {
                "rpc.system": "autonats",
                "rpc.service": spec.service,
                "rpc.method": spec.name,
                "messaging.system": "nats",
                "messaging.destination.name": subject,
                "messaging.operation.type": "publish" if client else "process",
            }
            found = self._names[key] = (name, kind, attributes)
        return found

    def start_client(
        self, spec: MethodSpec, subject: str, headers: dict[str, str]
    ) -> Any:
        """Start the span of an outgoing call (a child of the current span) and
        write its context into ``headers``. End it with :meth:`end`."""
        current = self._current_span().get_span_context()
        if current.is_valid:
            if not current.trace_flags.sampled and self._follows_parent():
                # Inside an unsampled trace: pass the trace on, make no span.
                _inject(current, headers)
                return None
        else:
            served = _serving.get()
            if served is not None and _unsampled(served) and self._follows_parent():
                # Serving an unsampled call (no span was made for it): pass it on.
                _copy_context(served, headers)
                return None
        name, kind, attributes = self._describe(spec, subject, True)
        span = self._tracer.start_span(name, kind=kind, attributes=attributes)
        _inject(span.get_span_context(), headers)
        return span

    def start_server(
        self, spec: MethodSpec, subject: str, headers: dict[str, str]
    ) -> tuple[Any, object]:
        """Start the span of serving a call, a child of the caller's span when the
        request carries one, and make it current. End it with :meth:`end`."""
        trace = self._trace
        _serving.set(headers)
        if _unsampled(headers) and self._follows_parent():
            # An unsampled caller: no span. Nested calls find the caller's context
            # in the call's headers (see start_client), so nothing is attached,
            # unless a span is current here: one that was current where run()
            # was called, inherited by the subscription's tasks. Then the
            # caller's context must replace it for the calls this one makes.
            if not self._current_span().get_span_context().is_valid:
                return None, None
            caller = self._parent(headers) or trace.INVALID_SPAN_CONTEXT
            current = trace.set_span_in_context(trace.NonRecordingSpan(caller))
            return None, self._context.attach(current)
        parent = self._parent(headers)
        context = (
            trace.set_span_in_context(trace.NonRecordingSpan(parent))
            if parent is not None
            else self._no_parent
        )
        name, kind, attributes = self._describe(spec, subject, False)
        span = self._tracer.start_span(
            name, context=context, kind=kind, attributes=attributes
        )
        return span, self._context.attach(trace.set_span_in_context(span))

    def _parent(self, headers: dict[str, str]) -> Any:
        match = _TRACEPARENT.match(headers.get("traceparent", ""))
        if match is None:
            return None
        from opentelemetry.trace import (
            SpanContext,
            TraceFlags,
            TraceState,
        )

        trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
        if not trace_id or not span_id:
            return None
        state = headers.get("tracestate")
        return SpanContext(
            trace_id=trace_id,
            span_id=span_id,
            is_remote=True,
            trace_flags=TraceFlags(int(match.group(3), 16)),
            trace_state=TraceState.from_header([state]) if state else None,
        )

    def end(self, span: Any, token: object = None) -> None:
        """End ``span`` (and make its parent current again, for a server span)."""
        if token is not None:
            self._context.detach(token)  # type: ignore[arg-type]
        if span is not None:
            span.end()

    def finish(self, span: Any, code: int, error: BaseException | None = None) -> None:
        """Record the call's outcome: reply code 0 is success."""
        if span is None or not span.is_recording():
            return
        span.set_attribute("rpc.response.status_code", str(code))
        if code:
            span.set_attribute("error.type", str(code))
            if error is not None:
                span.record_exception(error)
            status = self._trace.Status(self._trace.StatusCode.ERROR, f"code {code}")
            span.set_status(status)

    def fail(self, span: Any, error: BaseException) -> None:
        """Record a call that ended with ``error`` on the client."""
        if span is None or not span.is_recording():
            return
        code = getattr(error, "code", 0)
        span.set_attribute("error.type", type(error).__name__)
        if isinstance(code, int) and code:
            span.set_attribute("rpc.response.status_code", str(code))
        span.record_exception(error)
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(error)))


def _unsampled(headers: dict[str, str]) -> bool:
    """True for a well-formed W3C traceparent whose sampled flag is off."""
    value = headers.get("traceparent", "")
    if len(value) != 55 or not value.startswith("00-"):
        return False
    flags = value[53:]  # bit 0: sampled; W3C level 2 also sets bit 1 (random id)
    return flags in _UNSAMPLED_FLAGS


def _copy_context(source: dict[str, str], target: dict[str, str]) -> None:
    target["traceparent"] = source["traceparent"]
    state = source.get("tracestate")
    if state:
        target["tracestate"] = state


def _inject(ctx: Any, headers: dict[str, str]) -> None:
    """Write the W3C trace context of span context ``ctx`` into ``headers``."""
    if ctx.is_valid:
        # %-formatting hex-formats the ids in half the time of an f-string.
        headers["traceparent"] = "00-%032x-%016x-%02x" % (  # noqa: UP031
            ctx.trace_id,
            ctx.span_id,
            ctx.trace_flags,
        )
        if ctx.trace_state:
            headers["tracestate"] = ctx.trace_state.to_header()


def current_trace_id() -> str:
    """The current span's trace id as 32 hex digits, or "" (never imports opentelemetry)."""
    if "opentelemetry.trace" not in sys.modules:
        return ""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        return format(ctx.trace_id, "032x")
    served = _serving.get()  # serving an unsampled call: its trace id is in the header
    if served is not None and _unsampled(served):
        return served["traceparent"][3:35]
    return ""
