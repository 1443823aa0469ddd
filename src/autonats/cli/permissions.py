"""``autonats permissions``: least-privilege NATS permissions from the declarations."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autonats.cli._common import CommandError
from autonats.contract import wire

if TYPE_CHECKING:
    from autonats.contract.spec import ServiceSpec
    from autonats.runtime.permissions import Permissions

__all__ = ["add_parser", "render_conf", "render_nsc", "run"]

FORMATS = ("json", "conf", "nsc")


def add_parser(commands: Any) -> None:
    """Register the command."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "permissions",
        help="print the NATS permissions a user needs to serve or call services",
        description="Print the permissions one NATS user needs to run the handlers "
        "of the --handler services and/or call the --client services, derived from "
        "the declarations in SOURCE: method subjects (queue group q), $SRV "
        "discovery, the JetStream API of durable methods, replies through "
        "allow_responses, and the user's inbox. Nothing else is allowed.",
        epilog="Give each client its own inbox prefix (--inbox-prefix _INBOX_<user>, "
        "and the same --inbox-prefix when it connects), so no client can read "
        "another's replies. See docs/security.md.",
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="interface module(s) (.py)"
    )
    parser.add_argument(
        "--handler",
        action="append",
        default=[],
        metavar="SERVICE[,SERVICE...]",
        help="services this user serves (repeatable)",
    )
    parser.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="SERVICE[,SERVICE...]",
        help="services this user calls (repeatable)",
    )
    parser.add_argument(
        "--inbox-prefix",
        default="_INBOX",
        metavar="PREFIX",
        help="the user's reply subjects (default: _INBOX, shared by every user; "
        "recommended: _INBOX_<user>)",
    )
    parser.add_argument(
        "--discovery",
        action="store_true",
        help="let the client also ask the --client services' instances "
        "$SRV.PING/INFO/STATS (autonats info/stats, nats micro)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="json",
        help="json: a nats-server permissions object (default); conf: the same as "
        "a nats-server config block; nsc: nsc edit user commands (JWT auth)",
    )
    parser.add_argument(
        "--name",
        metavar="USER",
        help="the user name in nsc commands (default: from the roles, "
        "e.g. inventory-handler)",
    )
    parser.add_argument(
        "--prefix",
        default=wire.DEFAULT_PREFIX,
        help=f"subject prefix (default: {wire.DEFAULT_PREFIX})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the permissions."""
    from autonats.runtime import permissions

    handlers = _names(args.handler)
    clients = _names(args.client)
    if not handlers and not clients:
        raise CommandError(
            "say which services the user serves and/or calls: "
            "--handler SERVICE[,SERVICE...] and/or --client SERVICE[,SERVICE...]"
        )
    try:
        wire.check_prefix(args.prefix)
        wire.check_prefix(args.inbox_prefix)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    specs = _specs(args.sources)
    unknown = [n for n in (*handlers, *clients) if n not in specs]
    if unknown:
        declared = ", ".join(sorted(specs)) or "none"
        raise CommandError(
            f"no service {', '.join(repr(n) for n in unknown)} in "
            f"{', '.join(args.sources)} (declared: {declared})"
        )
    found = permissions.Permissions()
    for name in handlers:
        found |= permissions.for_handler(
            specs[name], prefix=args.prefix, inbox_prefix=args.inbox_prefix
        )
    for name in clients:
        found |= permissions.for_client(
            specs[name],
            prefix=args.prefix,
            inbox_prefix=args.inbox_prefix,
            discovery=args.discovery,
        )
    roles = _roles(handlers, clients)
    if args.format == "json":
        print(json.dumps(found.to_json(), indent=2))
    elif args.format == "conf":
        print(render_conf(found, roles))
    else:
        name = args.name or "-".join(
            [*(f"{h}-handler" for h in handlers), *(f"{c}-client" for c in clients)]
        )
        print(render_nsc(found, name, roles))
    return 0


def _names(values: list[str]) -> list[str]:
    names = [n.strip() for value in values for n in value.split(",")]
    return list(dict.fromkeys(n for n in names if n))


def _roles(handlers: list[str], clients: list[str]) -> str:
    parts = []
    if handlers:
        parts.append(f"handler of {', '.join(handlers)}")
    if clients:
        parts.append(f"client of {', '.join(clients)}")
    return "; ".join(parts)


def _specs(sources: list[str]) -> dict[str, ServiceSpec]:
    from autonats.cli.schema import load_specs

    specs: dict[str, ServiceSpec] = {}
    where: dict[str, str] = {}
    for source in sources:
        path = Path(source)
        if path.suffix != ".py":
            raise CommandError(f"{source}: not a Python file")
        if not path.is_file():
            raise CommandError(f"{source}: no such file")
        for spec in load_specs(path):
            if spec.name in specs:
                raise CommandError(
                    f"service {spec.name!r} is declared in both {where[spec.name]} "
                    f"and {source}"
                )
            specs[spec.name] = spec
            where[spec.name] = source
    return specs


def render_conf(found: Permissions, roles: str) -> str:
    """The permissions as a nats-server config block for a ``users`` entry."""
    data = found.to_json()
    lines = [
        f"# autonats permissions: {roles}",
        "# Put this block in the user's entry of authorization { users: [...] }.",
        "permissions {",
    ]
    for side in ("publish", "subscribe"):
        lines.append(f"  {side} {{")
        for verdict, subjects in data[side].items():
            lines.append(f"    {verdict}: [")
            lines += [f"      {json.dumps(subject)}" for subject in subjects]
            lines.append("    ]")
        lines.append("  }")
    responses = data.get("allow_responses")
    if responses is not None:
        lines += [
            "  allow_responses {",
            f"    max: {responses['max']}",
            f"    expires: {json.dumps(responses['expires'])}",
            "  }",
        ]
    lines.append("}")
    return "\n".join(lines)


def render_nsc(found: Permissions, name: str, roles: str) -> str:
    """The permissions as ``nsc edit user`` commands (decentralized JWT auth)."""
    data = found.to_json()
    flags = {
        ("publish", "allow"): "--allow-pub",
        ("publish", "deny"): "--deny-pub",
        ("subscribe", "allow"): "--allow-sub",
        ("subscribe", "deny"): "--deny-sub",
    }
    command = ["nsc", "edit", "user", "--name", name]
    arguments: list[list[str]] = []
    for side in ("publish", "subscribe"):
        for verdict, subjects in data[side].items():
            arguments += [[flags[side, verdict], subject] for subject in subjects]
    responses = data.get("allow_responses")
    if responses is not None:
        arguments.append(["--allow-pub-response", str(responses["max"])])
        arguments.append(["--response-ttl", responses["expires"]])
    lines = [
        f"# autonats permissions: {roles}",
        f"# (nsc add user --name {shlex.quote(name)} first, if the user is new)",
        " ".join(shlex.quote(part) for part in command) + " \\",
    ]
    for i, (flag, value) in enumerate(arguments):
        end = " \\" if i < len(arguments) - 1 else ""
        lines.append(f"  {flag} {shlex.quote(value)}{end}")
    return "\n".join(lines)
