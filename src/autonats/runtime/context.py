"""What a handler knows about the call it is serving, and the deadline nested calls inherit."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Call", "current_call"]


@dataclass(slots=True)
class Call:
    """The call being served by the current task.

    ``deadline`` is a ``time.monotonic()`` value (the clock asyncio's
    ``loop.time()`` reads); a client call made while serving this one never
    waits past it.
    """

    service: str
    method: str
    deadline: float
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        """The id of a durable oneway call, else "": the same on every
        redelivery and on a replay of its dead letter (``Autonats-Msg-Id`` when
        the call has one, else ``Nats-Msg-Id``)."""
        return self.headers.get("Autonats-Msg-Id") or self.headers.get(
            "Nats-Msg-Id", ""
        )


#: ``(service, method, deadline, headers)`` of the call being served: a tuple,
#: set on every call, is several times cheaper to make than a :class:`Call`,
#: which :func:`current_call` builds when asked.
_current: ContextVar[tuple[str, str, float, dict[str, str]] | None] = ContextVar(
    "autonats_call", default=None
)


def current_call() -> Call | None:
    """The call the current task is serving, or None outside a handler."""
    serving = _current.get()
    return None if serving is None else Call(*serving)
