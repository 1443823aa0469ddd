"""``autonats generate``: write the client and handler modules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autonats.cli._common import CommandError, positive_float, positive_int

__all__ = ["add_parser"]


def add_parser(commands: Any) -> None:
    """Register the command."""
    gen: argparse.ArgumentParser = commands.add_parser(
        "generate",
        help="write the client and handler for the services in interface files",
        description="Write FILE_nats.py beside each interface FILE.py, holding a "
        "<Name>Client and a <Name>Handler per service.",
    )
    gen.add_argument("files", nargs="+", metavar="FILE", help="interface module (.py)")
    gen.add_argument(
        "-o", "--output", metavar="PATH", help="output file (one FILE only)"
    )
    gen.add_argument(
        "--timeout",
        type=positive_float,
        default=5.0,
        metavar="SECONDS",
        help="default call timeout of every method (default: 5)",
    )
    gen.add_argument(
        "--concurrency",
        type=positive_int,
        default=5,
        metavar="N",
        help="default number of calls of a method one handler runs at once (default: 5)",
    )
    gen.add_argument(
        "--tracing",
        action="store_true",
        help="wrap every call in OpenTelemetry client and server spans "
        "(needs autonats[otel] at run time; without it no tracing code runs)",
    )
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a file on disk differs from what would be generated",
    )
    gen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate (or check) every file."""
    from autonats.codegen import command_line, default_output, generate

    if args.output and len(args.files) > 1:
        raise CommandError("-o takes one FILE only")
    stale = 0
    for file in args.files:
        source = Path(file)
        if source.suffix != ".py":
            raise CommandError(f"{file}: not a Python file")
        target = Path(args.output) if args.output else default_output(source)
        options: dict[str, Any] = {
            "timeout": args.timeout,
            "concurrency": args.concurrency,
            "tracing": args.tracing,
        }
        text = generate(file, output=args.output, **options)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                again = command_line(file, args.output, **options)
                print(f"{target}: out of date; run: {again}", file=sys.stderr)
                stale += 1
            continue
        if current != text:
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    f"cannot write {target}: {exc.strerror or exc}"
                ) from None
            print(f"wrote {target}")
        else:
            print(f"{target} is up to date")
    return 1 if stale else 0
