"""The one boundary where nats-py's errors become autonats errors."""

from __future__ import annotations

import nats.errors
from autonats import errors

__all__ = ["NATS_ERRORS", "nats_error"]

#: nats-py error -> autonats error, most specific first. A test checks that every
#: error class nats-py exports is covered by an entry or one of its bases.
NATS_ERRORS: tuple[tuple[type[Exception], type[errors.AutonatsError]], ...] = (
    (nats.errors.NoRespondersError, errors.NoRespondersError),
    (nats.errors.TimeoutError, errors.TimeoutError),
    (nats.errors.FlushTimeoutError, errors.TimeoutError),
    (nats.errors.ConnectionClosedError, errors.ConnectionError),
    (nats.errors.ConnectionDrainingError, errors.ConnectionError),
    (nats.errors.ConnectionReconnectingError, errors.ConnectionError),
    (nats.errors.StaleConnectionError, errors.ConnectionError),
    (nats.errors.OutboundBufferLimitError, errors.ConnectionError),
    (nats.errors.NoServersError, errors.ConnectionError),
    (nats.errors.UnexpectedEOF, errors.ConnectionError),
    (nats.errors.MaxPayloadError, errors.EncodeError),
    (nats.errors.BadSubjectError, errors.ProtocolError),
    (nats.errors.Error, errors.AutonatsError),
)


def nats_error(exc: Exception) -> errors.AutonatsError:
    """The autonats error for a nats-py error (the message is nats-py's, which is safe)."""
    for source, target in NATS_ERRORS:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    return errors.AutonatsError(str(exc) or type(exc).__name__)
