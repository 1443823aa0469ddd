"""The ``nats`` CLI's connection flags, shared by every command that connects.

A command adds the flags to its parser and connects from the parsed arguments::

    def add_parser(commands):
        parser = commands.add_parser("ls", ...)
        add_connection_flags(parser)

    def run(args):
        return run_connected(args, lambda nc: work(nc))  # connect, work, close

Flags win over the ``nats`` CLI's environment variables, which win over the
NATS context (see :mod:`autonats.runtime.connect`). Every failure, from a
missing credentials file to a refused password or a denied subject, is a
:class:`~autonats.cli.CommandError`: one line, never a secret, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from autonats.cli._common import CommandError

if TYPE_CHECKING:
    import nats.aio.client
    from autonats.runtime.connect import Settings

__all__ = [
    "add_connection_flags",
    "connect",
    "run_connected",
    "settings",
]

T = TypeVar("T")


def add_connection_flags(
    parser: argparse.ArgumentParser, *, default_server: str | None = None
) -> None:
    """Add ``-s/--server``, ``--user``, ``--password``, ``--creds``, ``--nkey``,
    ``--tlscert``, ``--tlskey``, ``--tlsca``, ``--tlsfirst``, ``--inbox-prefix``
    and ``--context``, with the ``nats`` CLI's names and meanings.

    ``default_server`` only changes the help text (``serve`` starts an embedded
    server when none is given). No default shows a value taken from the
    environment, so ``--help`` never prints a secret.
    """
    group = parser.add_argument_group(
        "connection (as the nats CLI: flag, then environment, then context)"
    )
    group.add_argument(
        "-s",
        "--server",
        metavar="URL",
        help="NATS server URL(s), comma-separated "
        f"(env NATS_URL; default: the context's, else {default_server or 'nats://127.0.0.1:4222'})",
    )
    group.add_argument(
        "--user",
        metavar="USER",
        help="user name; without --password it is a token (env NATS_USER)",
    )
    group.add_argument(
        "--password", metavar="PASSWORD", help="password (env NATS_PASSWORD)"
    )
    group.add_argument(
        "--creds", metavar="FILE", help="user JWT credentials file (env NATS_CREDS)"
    )
    group.add_argument(
        "--nkey", metavar="FILE", help="user nkey seed file (env NATS_NKEY)"
    )
    group.add_argument(
        "--tlscert",
        metavar="FILE",
        help="client certificate for mutual TLS (env NATS_CERT)",
    )
    group.add_argument(
        "--tlskey", metavar="FILE", help="its private key (env NATS_KEY)"
    )
    group.add_argument(
        "--tlsca",
        metavar="FILE",
        help="CA that signed the server's certificate (env NATS_CA)",
    )
    group.add_argument(
        "--tlsfirst",
        action="store_true",
        default=None,
        help="TLS handshake before the server's INFO (server's handshake_first)",
    )
    group.add_argument(
        "--inbox-prefix",
        metavar="PREFIX",
        help="prefix of reply subjects, e.g. _INBOX_alice (default: _INBOX)",
    )
    group.add_argument(
        "--context",
        metavar="NAME",
        help="NATS context to use (env NATS_CONTEXT; default: the selected one)",
    )


def settings(args: argparse.Namespace) -> Settings:
    """The connection settings of parsed arguments, environment and context.

    The token comes from ``NATS_TOKEN`` or the context only: a token flag
    would show it to every user of the machine (``ps``).
    """
    from autonats.errors import AutonatsError
    from autonats.runtime.connect import resolve

    try:
        return resolve(
            getattr(args, "server", None),
            context=getattr(args, "context", None),
            user=getattr(args, "user", None),
            password=getattr(args, "password", None),
            creds=getattr(args, "creds", None),
            nkey=getattr(args, "nkey", None),
            cert=getattr(args, "tlscert", None),
            key=getattr(args, "tlskey", None),
            ca=getattr(args, "tlsca", None),
            tls_first=getattr(args, "tlsfirst", None),
            inbox_prefix=getattr(args, "inbox_prefix", None),
        )
    except AutonatsError as exc:
        raise CommandError(str(exc)) from None


async def connect(
    args: argparse.Namespace, **nats_options: Any
) -> nats.aio.client.Client:
    """Connect as the arguments say; ``nats_options`` go to ``nats.connect``.

    Raises :class:`CommandError` (one line) when it cannot.
    """
    from autonats.errors import AutonatsError

    resolved = settings(args)
    try:
        return await resolved.connect(**nats_options)
    except AutonatsError as exc:
        raise CommandError(str(exc)) from None


def run_connected(
    args: argparse.Namespace,
    work: Callable[[nats.aio.client.Client], Awaitable[T]],
) -> T:
    """Connect once (no retries), run ``work(nc)``, close; returns its result.

    Every failure (connecting, a nats-py error, a denied subject) is a
    :class:`CommandError` naming the server with its credentials redacted.
    """

    async def main() -> T:
        import nats.errors
        from autonats.errors import AutonatsError

        display = settings(args).display

        async def ignore(exc: Exception) -> None:
            return None  # what matters is reported as the command's one line

        nc = await connect(
            args,
            connect_timeout=2,
            allow_reconnect=False,
            # nats-py reads 0 as "forever".
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=ignore,
        )
        try:
            return await work(nc)
        except AutonatsError as exc:
            raise CommandError(str(exc)) from None
        except nats.errors.Error as exc:
            text = " ".join((str(exc) or type(exc).__name__).split())
            raise CommandError(f"{display}: {text}") from None
        finally:
            # Closing a broken connection must not mask the result.
            with contextlib.suppress(Exception):
                await nc.close()

    return asyncio.run(main())
