"""Blocking calls, for code that is not async: a Django or Flask view, a
script, a notebook, a Celery task.

::

    import autonats.sync
    from users_nats import UserSyncClient

    with autonats.sync.connect("nats://127.0.0.1:4222") as conn:
        users = UserSyncClient(conn)
        user = users.get_by_id("42")          # blocks; same errors, same timeout
        for event in users.watch():           # a stream: a plain iterator
            ...

:func:`connect` runs nats-py on an event loop in a background thread; the
connection is safe to share between threads. Calling it, or a sync client,
from a thread that runs an event loop raises ``RuntimeError``: await the
async client there.
"""

from __future__ import annotations

from autonats.runtime.sync import Connection, SyncStream, connect

__all__ = ["Connection", "SyncStream", "connect"]
