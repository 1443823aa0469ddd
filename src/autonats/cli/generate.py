"""``autonats generate``: write the client and handler modules (Python), or the
client modules and their runtime (TypeScript)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from autonats.cli._common import CommandError, positive_float, positive_int

__all__ = ["add_parser"]

_DEFAULT_CONCURRENCY = 5


def add_parser(commands: Any) -> None:
    """Register the command."""
    gen: argparse.ArgumentParser = commands.add_parser(
        "generate",
        help="write the client and handler for the services in interface files",
        description="Write FILE_nats.py beside each interface FILE.py, holding a "
        "<Name>Client and a <Name>Handler per service. With --lang ts, write "
        "FILE.ts into the folder -o DIR instead, holding the types, errors and a "
        "<Name>Client per service, and autonats.ts, the runtime they import.",
    )
    gen.add_argument("files", nargs="+", metavar="FILE", help="interface module (.py)")
    gen.add_argument(
        "--lang",
        choices=("python", "ts"),
        default="python",
        help="python: clients and handlers (default); ts: TypeScript clients "
        "(see docs/typescript.md)",
    )
    gen.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="python: the output file (one FILE only); "
        "ts: the folder to write into (required)",
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
        metavar="N",
        help="default number of calls of a method one handler runs at once "
        f"(default: {_DEFAULT_CONCURRENCY}; python only)",
    )
    gen.add_argument(
        "--tracing",
        action="store_true",
        help="wrap every call in OpenTelemetry client and server spans "
        "(needs autonats[otel] at run time; without it no tracing code runs; "
        "python only: TypeScript clients send the trace context they are given)",
    )
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a file on disk differs from what would be generated",
    )
    gen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Generate (or check) every file."""
    for file in args.files:
        if Path(file).suffix != ".py":
            raise CommandError(f"{file}: not a Python file")
    outputs = _typescript(args) if args.lang == "ts" else _python(args)
    stale = 0
    for target, text, again in outputs:
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if args.check:
            if current != text:
                print(f"{target}: out of date; run: {again}", file=sys.stderr)
                stale += 1
            continue
        if current != text:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    f"cannot write {target}: {exc.strerror or exc}"
                ) from None
            print(f"wrote {target}")
        else:
            print(f"{target} is up to date")
    return 1 if stale else 0


def _python(args: argparse.Namespace) -> list[tuple[Path, str, str]]:
    """(target, text, command that regenerates it) of every Python module."""
    from autonats.codegen import command_line, default_output, generate

    if args.output and len(args.files) > 1:
        raise CommandError("-o takes one FILE only")
    options: dict[str, Any] = {
        "timeout": args.timeout,
        "concurrency": args.concurrency or _DEFAULT_CONCURRENCY,
        "tracing": args.tracing,
    }
    outputs = []
    for file in args.files:
        target = Path(args.output) if args.output else default_output(file)
        text = generate(file, output=args.output, **options)
        outputs.append((target, text, command_line(file, args.output, **options)))
    return outputs


def _typescript(args: argparse.Namespace) -> list[tuple[Path, str, str]]:
    """(target, text, command that regenerates it) of every TypeScript module,
    the runtime last."""
    from autonats.codegen import command_line, generate_typescript, typescript

    if not args.output:
        raise CommandError(
            "--lang ts needs -o DIR: the folder of your TypeScript sources to "
            "write the modules into"
        )
    if args.tracing:
        raise CommandError(
            "--tracing is for Python modules: TypeScript clients send the trace "
            "context they are given (see docs/typescript.md)"
        )
    if args.concurrency is not None:
        raise CommandError(
            "--concurrency is for Python handlers: TypeScript modules hold clients only"
        )
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"-o {folder}: not a folder")
    command = command_line(
        " ".join(args.files), args.output, timeout=args.timeout, lang="ts"
    )
    runtime_name = f"{typescript.RUNTIME_MODULE}.ts"
    outputs: list[tuple[Path, str, str]] = []
    for file in args.files:
        name = typescript.module_name(file)
        if name == runtime_name:
            raise CommandError(
                f"{file}: its module would be {name}, the name of the runtime "
                "module; rename the interface file"
            )
        target = folder / name
        if any(t == target for t, _, _ in outputs):
            raise CommandError(
                f"{file}: another FILE also generates {target}; give them "
                "distinct names or generate them into different folders"
            )
        text = generate_typescript(file, output_dir=folder, timeout=args.timeout)
        outputs.append((target, text, command))
    outputs.append((folder / runtime_name, typescript.runtime(), command))
    return outputs
