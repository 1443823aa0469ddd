"""``autonats breaking``: report the changes to an interface that would break
deployed clients or handlers.

Exit status: 0 compatible, 1 breaking, 2 when the input itself is wrong (a
file that does not load, an unknown revision, an unknown rule).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from autonats.errors import DeclarationError

__all__ = ["add_parser", "run"]

FORMATS = ("text", "json", "github")


def add_parser(commands: Any) -> None:
    """Register the command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "breaking",
        help="report changes to an interface that break deployed clients or handlers",
        description="Compare the interface file NEW with its previous version OLD "
        "and report every change that would break a deployed client or handler, "
        "one line each: 'path:line: RULE_ID: message'. Exit status: 0 compatible, "
        "1 breaking, 2 when the input is wrong. The rules and what they mean: "
        "docs/versioning.md, or --list-rules.",
    )
    parser.add_argument(
        "new", nargs="?", metavar="NEW", help="the interface file as it is now (.py)"
    )
    parser.add_argument(
        "--against",
        metavar="OLD",
        help="the previous version: an interface file, or git:REF for NEW as it "
        "was at git revision REF (git:main, git:origin/main, git:v1.2.0), or "
        "git:REF:PATH for another path (relative to the repository's root)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), json for tools, or github for GitHub Actions annotations",
    )
    parser.add_argument(
        "--allow-major",
        action="store_true",
        help="accept the changes of a service whose major version changed (its "
        "subjects moved, so deployed callers of the previous major version are "
        "not affected while it is still served); they are still listed",
    )
    parser.add_argument(
        "--except",
        dest="excepts",
        action="append",
        default=[],
        metavar="RULE",
        help="do not report RULE (repeatable), e.g. --except ENUM_MEMBER_ADDED",
    )
    parser.add_argument(
        "--list-rules",
        action="store_true",
        help="list every rule with its category and what it breaks, and exit",
    )
    parser.set_defaults(func=run)


class _BadInput(Exception):
    """The command's input is wrong: exit status 2."""


def run(args: argparse.Namespace) -> int:
    """Compare, report, and return the exit status."""
    from autonats.breaking import RULES

    if args.list_rules:
        _list_rules(args.format)
        return 0
    try:
        unknown = sorted(set(args.excepts) - set(RULES))
        if unknown:
            raise _BadInput(
                f"unknown rule {', '.join(unknown)} for --except "
                "(autonats breaking --list-rules lists them)"
            )
        if not args.new or not args.against:
            raise _BadInput(
                "usage: autonats breaking NEW --against OLD (a file or git:REF)"
            )
        with _contracts(args.new, args.against) as loaded:
            if loaded is None:
                _report([], args)
                return 0
            old, new = loaded
    except _BadInput as exc:
        print(f"autonats breaking: {exc}", file=sys.stderr)
        return 2
    from autonats.breaking import check

    excepted = set(args.excepts)
    findings = [f for f in check(old, new) if f.rule not in excepted]
    return _report(findings, args)


# -- loading -------------------------------------------------------------------


@contextlib.contextmanager
def _contracts(new_file: str, against: str) -> Iterator[tuple[Any, Any] | None]:
    """The old and new descriptions, or None when OLD does not exist at a git
    revision (NEW is a new interface: nothing to compare)."""
    new_path = _interface(new_file)
    new = _load(new_path, new_file)
    if not against.startswith("git:"):
        yield _load(_interface(against), against), new
        return
    from autonats.breaking.git import GitError, at_revision

    ref, _, at = against[len("git:") :].partition(":")
    try:
        with at_revision(new_path, ref, at or None) as old_path:
            if old_path is None:
                shown = at or new_file
                print(
                    f"autonats breaking: {shown} does not exist at {ref}: a new "
                    "interface, nothing to compare",
                    file=sys.stderr,
                )
                yield None
                return
            yield _load(old_path, f"{at or new_file} at {ref}"), new
    except GitError as exc:
        raise _BadInput(str(exc)) from None


def _interface(name: str) -> Path:
    path = Path(name)
    if path.suffix != ".py":
        raise _BadInput(f"{name}: not a Python file")
    if not path.is_file():
        raise _BadInput(f"{name}: no such file")
    return path


def _load(path: Path, shown: str) -> Any:
    from autonats.codegen.describe import load

    try:
        return load(path)
    except DeclarationError as exc:
        where = f"{shown}:{exc.line}" if exc.line else shown
        raise _BadInput(f"{where}: {exc.message}") from None


# -- output --------------------------------------------------------------------


def _report(findings: list[Any], args: argparse.Namespace) -> int:
    """Print the findings; 1 when any of them breaks, else 0."""
    from autonats.breaking import RULES

    def allowed(f: Any) -> bool:
        return bool(args.allow_major and f.new_major)

    blocking = [f for f in findings if not allowed(f)]
    if args.format == "json":
        document = {
            "compatible": not blocking,
            "findings": [
                {
                    "rule": f.rule,
                    "category": f.category,
                    "file": _shown(f.file),
                    "line": f.line,
                    "message": f.message,
                    "uses": [
                        {
                            "service": u.service,
                            "method": u.method,
                            "parameter": u.parameter,
                            "error": u.error,
                            "field": u.field,
                        }
                        for u in f.uses
                    ],
                    "why": RULES[f.rule].why,
                    "new_major": f.new_major,
                    "allowed": allowed(f),
                }
                for f in findings
            ],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 1 if blocking else 0
    for f in findings:
        note = (
            " [new major version]"
            if f.new_major and not f.rule.startswith("MAJOR")
            else ""
        )
        if args.format == "github":
            level = "warning" if allowed(f) else "error"
            print(
                f"::{level} file={_escape(_shown(f.file), True)},line={f.line},"
                f"title={_escape(f.rule, True)}::"
                f"{_escape(f'{f.message}{note}. {_sentence(RULES[f.rule].why)}', False)}"
            )
        else:
            print(f"{_shown(f.file)}:{f.line}: {f.rule}: {f.message}{note}")
    if findings:
        summary = f"{len(blocking)} breaking change{'s' if len(blocking) != 1 else ''}"
        if len(blocking) != len(findings):
            summary += f", {len(findings) - len(blocking)} allowed by --allow-major"
        elif any(f.new_major for f in findings):
            summary += (
                " (those marked come with a new major version: "
                "--allow-major accepts them)"
            )
        print(f"autonats breaking: {summary}", file=sys.stderr)
    return 1 if blocking else 0


def _shown(file: str) -> str:
    """A path relative to the working directory when it is under it."""
    if not file:
        return "?"
    try:
        return os.path.relpath(file) if Path(file).is_relative_to(Path.cwd()) else file
    except ValueError:  # another drive (Windows)
        return file


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _escape(text: str, property_: bool) -> str:
    """GitHub Actions workflow-command escaping."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _list_rules(fmt: str) -> None:
    from autonats.breaking import RULES

    if fmt == "json":
        rules = [
            {"rule": r.id, "category": r.category, "why": r.why} for r in RULES.values()
        ]
        print(json.dumps(rules, indent=2))
        return
    width = max(len(r) for r in RULES)
    for rule in RULES.values():
        print(f"{rule.id:<{width}}  {rule.category:<7}  {rule.why}")
