"""The blocking client: the user service called from plain threads, as a
Django or Flask view, a script or a Celery task would call it.

Run it against a served shop (``autonats serve shop:UserStore`` in this
folder, then ``python sync_client.py``); ``demo.py`` runs it too.
"""

from __future__ import annotations

import concurrent.futures
import os
import sys

import autonats
import autonats.sync

from users import UserNotFound
from users_nats import UserSyncClient


def main(url: str) -> None:
    # nats-py runs on an event loop in a thread of the connection's own.
    with autonats.sync.connect(url) as conn:
        users = UserSyncClient(conn)
        ada = users.create("Ada Sync")
        print(f"  {'create(...) from a plain thread':<44} -> {ada.id} {ada.name}")
        try:
            users.get_by_id("nobody")
        except UserNotFound as exc:  # the same declared error, as in async code
            print(f"  {'get_by_id(nobody) raised UserNotFound':<44} -> {exc.id!r}")

        # One connection serves many threads at once (a WSGI server's workers).
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda _: users.get_by_id(ada.id).name, range(40)))
        print(f"  {'8 threads x 5 get_by_id':<44} -> {len(found)} x {found[0]!r}")

        # A stream is a plain iterator; leaving it closes it on the handler.
        with users.watch() as events:
            for event in events:
                if event.user.id == ada.id:
                    print(f"  {'watch() until Ada Sync':<44} -> seq {event.seq}")
                    break
        try:
            UserSyncClient(conn, timeout=0.2).sleep(1.0)
        except autonats.TimeoutError as exc:
            print(f"  {'sleep(1.0) with timeout=0.2 raised TimeoutError':<44} -> {exc}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("NATS_URL", ""))
