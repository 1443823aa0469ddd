"""``autonats schema``: write an interface file's contract as an AsyncAPI 3.0 document."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from autonats.cli._common import CommandError
from autonats.contract import wire

__all__ = ["add_parser", "load_specs", "run"]


def add_parser(commands: Any) -> None:
    """Register the command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "schema",
        help="write the services of an interface file as an AsyncAPI 3.0 document",
        description="Write the contract of every service in FILE as an AsyncAPI 3.0 "
        "document (JSON): a request and a reply message per method, the declared "
        "errors, and the JSON Schema of every type.",
    )
    parser.add_argument("file", metavar="FILE", help="interface module (.py)")
    parser.add_argument(
        "-o", "--output", metavar="PATH", help="write here instead of to stdout"
    )
    parser.add_argument(
        "--prefix",
        default=wire.DEFAULT_PREFIX,
        help=f"subject prefix (default: {wire.DEFAULT_PREFIX})",
    )
    parser.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        help="only this service (repeatable; default: every service in FILE)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the document."""
    from autonats.contract.schema import asyncapi

    path = Path(args.file)
    if path.suffix != ".py":
        raise CommandError(f"{args.file}: not a Python file")
    specs = load_specs(path)
    if args.service:
        unknown = set(args.service) - {s.name for s in specs}
        if unknown:
            raise CommandError(
                f"{args.file} declares no service {', '.join(sorted(unknown))}"
            )
        specs = [s for s in specs if s.name in args.service]
    document = asyncapi(specs, prefix=args.prefix, title=path.name)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc}") from None
    else:
        sys.stdout.write(text)
    return 0


def load_specs(path: Path) -> list[Any]:
    """The :class:`~autonats.contract.ServiceSpec` of every service the file declares.

    The generator's parser checks the declarations (any mistake is a
    ``DeclarationError``) and imports the file; the specs are those the
    generated module builds.
    """
    from autonats.codegen import parse

    return [service.spec() for service in parse(path).services]
