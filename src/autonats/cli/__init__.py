"""The ``autonats`` command line: one module per command, each adding its parser."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from autonats._version import __version__
from autonats.cli import (
    breaking,
    dead,
    generate,
    inspect,
    permissions,
    schema,
    serve,
)
from autonats.cli._common import CommandError
from autonats.errors import DeclarationError

__all__ = ["CommandError", "main"]

_COMMANDS = (generate, serve, inspect, dead, schema, permissions, breaking)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        status: int = args.func(args)
    except DeclarationError as exc:
        print(exc, file=sys.stderr)
        return 1
    except CommandError as exc:
        print(f"autonats: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into a program that stopped reading (``| head``).
        sys.stderr.close()
        return 0
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autonats",
        description="Typed service mesh over NATS, generated from Python Protocols.",
    )
    parser.add_argument(
        "--version", action="version", version=f"autonats {__version__}"
    )
    commands = parser.add_subparsers(metavar="COMMAND")
    for command in _COMMANDS:
        command.add_parser(commands)
    return parser
