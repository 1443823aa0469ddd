"""What a handler knows about the call it is serving, and the deadline nested calls inherit."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Call", "current_call"]


@dataclass(slots=True)
class Call:
    """The call being served by the current task.

    ``deadline`` is in the event loop's clock (``loop.time()``); a client call made
    while serving this one never waits past it.
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


_current: ContextVar[Call | None] = ContextVar("autonats_call", default=None)


def current_call() -> Call | None:
    """The call the current task is serving, or None outside a handler."""
    return _current.get()
