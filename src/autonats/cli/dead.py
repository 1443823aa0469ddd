"""``autonats dead ls`` and ``autonats dead replay``: a service's dead letters.

A durable call that failed every delivery (or did not decode) is kept in the
service's dead-letter stream (docs/protocol.md, section 10). ``ls`` lists
them; ``replay`` publishes them again to the subject they were first
published to, as new calls with the same call id, and by default removes
them from the dead-letter stream once the work stream has stored them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from autonats.cli._common import CommandError

# The connection options and the output helpers of the other commands, in one
# place: switching to shared connection flags changes only these imports.
from autonats.cli._connection import run_connected
from autonats.cli.inspect import _command, _print_json, _table
from autonats.contract import wire

__all__ = ["DeadLetter", "add_parser"]

T = TypeVar("T")

_LS_LIMIT = 100


def add_parser(commands: Any) -> None:
    """Register ``dead ls`` and ``dead replay``."""
    dead: argparse.ArgumentParser = commands.add_parser(
        "dead",
        help="list or replay a service's dead letters",
        description="The durable calls of SERVICE that failed every delivery are "
        "kept in its dead-letter stream, <prefix>_<service>_dead. List them, or "
        "replay them: publish them again as new calls.",
    )
    verbs = dead.add_subparsers(metavar="VERB", required=True)
    ls = _command(
        verbs,
        "ls",
        "list dead letters",
        "List the dead letters of SERVICE, oldest first: stream sequence, when "
        "the call was dead-lettered, method, call id, deliveries, error and "
        "arguments. SEQ, --method and --id select some (default: all, up to "
        "--limit).",
        timeout=5.0,
    )
    _selection(ls)
    ls.add_argument(
        "--limit",
        type=int,
        default=_LS_LIMIT,
        metavar="N",
        help=f"list at most N (default: {_LS_LIMIT}; 0: all)",
    )
    ls.set_defaults(func=run_ls)
    replay = _command(
        verbs,
        "replay",
        "publish dead letters again",
        "Publish the selected dead letters of SERVICE again to the subject their "
        "call was first published to: the original body and headers, the same "
        "call id (Autonats-Msg-Id), without the dead-letter headers. Each is "
        "removed from the dead-letter stream once the work stream has stored "
        "it (unless --keep). Replaying the same dead letter twice within 2 "
        "minutes stores it once. Select with SEQ, --method, --id, or --all.",
        timeout=5.0,
    )
    _selection(replay)
    replay.add_argument(
        "--all", action="store_true", help="replay every dead letter of SERVICE"
    )
    replay.add_argument(
        "--keep",
        action="store_true",
        help="keep the dead letters in the dead-letter stream after replaying them",
    )
    replay.set_defaults(func=run_replay)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "service",
        metavar="SERVICE",
        help="the service's name (user), or its name and major version for "
        "versions 1.0 and later (user.v2)",
    )
    parser.add_argument(
        "seqs",
        nargs="*",
        type=_sequence,
        metavar="SEQ",
        help="stream sequences of dead letters (as ls shows them) or ranges "
        "of them, e.g. 7 or 3-9",
    )
    parser.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="NAME",
        help="only dead letters of this method (repeatable)",
    )
    parser.add_argument(
        "--id",
        action="append",
        default=[],
        dest="ids",
        metavar="ID",
        help="only the dead letter of this call id (repeatable)",
    )
    parser.add_argument(
        "--prefix",
        default=wire.DEFAULT_PREFIX,
        help=f"subject prefix (default: {wire.DEFAULT_PREFIX})",
    )


def _sequence(text: str) -> list[int]:
    """argparse type: a stream sequence (``7``) or an inclusive range (``3-9``)."""
    first, sep, last = text.partition("-")
    try:
        low = int(first)
        high = int(last) if sep else low
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a stream sequence or range: {text!r} (e.g. 7 or 3-9)"
        ) from None
    if low < 1 or high < low:
        raise argparse.ArgumentTypeError(
            f"a stream sequence is >= 1, a range low-high: {text!r}"
        )
    if high - low >= 1_000_000:
        raise argparse.ArgumentTypeError(f"range too long: {text!r}")
    return list(range(low, high + 1))


@dataclass
class DeadLetter:
    """One message of a dead-letter stream, as ``ls --json`` prints it."""

    seq: int
    time: str
    method: str
    subject: str
    id: str
    error_code: int | None
    error: str
    deliveries: int | None
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The letter as a JSON object (the body as JSON when it parses)."""
        try:
            body: Any = json.loads(self.body) if self.body else None
        except ValueError:
            body = self.body.decode(errors="replace")
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "subject": self.subject,
            "id": self.id,
            "error_code": self.error_code,
            "error": self.error,
            "deliveries": self.deliveries,
            "body": body,
            "headers": self.headers,
        }


# -- reading ---------------------------------------------------------------------


def _letter(msg: Any) -> DeadLetter:
    headers: dict[str, str] = dict(msg.headers or {})
    subject = str(msg.subject or "")
    when = msg.time
    return DeadLetter(
        seq=int(msg.seq),
        time=when.isoformat() if isinstance(when, datetime.datetime) else "",
        method=subject.rpartition(".")[2],
        subject=headers.get("Autonats-Subject", ""),
        id=headers.get("Autonats-Msg-Id", ""),
        error_code=_int(headers.get("Autonats-Error-Code")),
        error=headers.get("Autonats-Error", ""),
        deliveries=_int(headers.get("Autonats-Deliveries")),
        body=bytes(msg.data or b""),
        headers=headers,
    )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


async def _read(
    nc: Any, args: argparse.Namespace, limit: int
) -> tuple[str, Any, list[DeadLetter]]:
    """The dead-letter stream's name and info, and the selected letters (at most
    ``limit``, 0: all) in stream order."""
    import nats.js.errors

    try:
        service, version = wire.split_service(args.service)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    stream = wire.dead_stream_name(args.prefix, service, version)
    js = nc.jetstream(timeout=args.timeout)
    try:
        info = await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        raise CommandError(
            f"no dead-letter stream {stream}: service {args.service!r} has no "
            f"durable method served with prefix {args.prefix!r} on this JetStream "
            "(a handler creates the stream when it starts)"
        ) from None
    methods = set(args.method)
    ids = set(args.ids)

    def wanted(letter: DeadLetter) -> bool:
        return (not methods or letter.method in methods) and (
            not ids or letter.id in ids
        )

    found: list[DeadLetter] = []
    if args.seqs:
        missing = []
        for seq in sorted({seq for seqs in args.seqs for seq in seqs}):
            try:
                letter = _letter(await js.get_msg(stream, seq))
            except nats.js.errors.NotFoundError:
                missing.append(seq)
                continue
            if wanted(letter):
                found.append(letter)
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (
                f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            )
            print(
                f"autonats: not in {stream} (replayed, dropped by its limits, or "
                f"never there): {shown}",
                file=sys.stderr,
            )
        return stream, info, found[:limit] if limit else found
    subject = (
        wire.dead_letter_subject(args.prefix, service, args.method[0], version)
        if len(methods) == 1
        else None
    )
    seq = info.state.first_seq or 1
    while not limit or len(found) < limit:
        try:
            msg = await js.get_msg(stream, seq, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            break
        letter = _letter(msg)
        if wanted(letter):
            found.append(letter)
        seq = letter.seq + 1
    return stream, info, found


def _run(args: argparse.Namespace, work: Callable[[Any], Awaitable[T]]) -> T:
    return run_connected(args, work)


# -- ls --------------------------------------------------------------------------


def run_ls(args: argparse.Namespace) -> int:
    """List dead letters, oldest first."""
    if args.limit < 0:
        raise CommandError("--limit must be >= 0")

    async def work(nc: Any) -> tuple[str, Any, list[DeadLetter]]:
        return await _read(nc, args, args.limit)

    stream, info, letters = _run(args, work)
    if args.json:
        _print_json([letter.as_json() for letter in letters])
        return 0
    if letters:
        _table(
            [
                "SEQ",
                "DEAD-LETTERED (UTC)",
                "METHOD",
                "ID",
                "DELIVERIES",
                "ERROR",
                "ARGS",
            ],
            [
                [
                    letter.seq,
                    letter.time[:19].replace("T", " "),
                    letter.method,
                    letter.id or "-",
                    "-" if letter.deliveries is None else letter.deliveries,
                    _clip(f"{letter.error_code or '?'} {letter.error}", 48),
                    _clip(letter.body.decode(errors="replace"), 40),
                ]
                for letter in letters
            ],
            right={0, 4},
        )
    print(_summary(stream, info, len(letters), args.limit))
    return 0


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _summary(stream: str, info: Any, shown: int, limit: int) -> str:
    config, state = info.config, info.state
    limits = []
    if config.max_age:
        limits.append(f"max age {_age(config.max_age)}")
    if config.max_bytes and config.max_bytes > 0:
        limits.append(f"max bytes {_size(config.max_bytes)}")
    kept = ", ".join(limits) or "no limits"
    more = (
        f" (the first {shown}: --limit 0 shows all)"
        if limit and shown == limit and state.messages > shown
        else ""
    )
    return (
        f"{shown} dead letter{'s' if shown != 1 else ''} shown{more}; {stream} holds "
        f"{state.messages} ({_size(state.bytes)}), {config.num_replicas or 1} "
        f"replica{'s' if (config.num_replicas or 1) > 1 else ''}, {kept}"
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:g}{unit}"
    return f"{seconds:g}s"


def _size(count: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


# -- replay ----------------------------------------------------------------------


def run_replay(args: argparse.Namespace) -> int:
    """Publish the selected dead letters again; remove them unless --keep."""
    if not (args.all or args.seqs or args.method or args.ids):
        raise CommandError(
            "say which dead letters to replay: SEQ..., --method NAME, --id ID, "
            "or --all (see autonats dead ls)"
        )
    failures: list[str] = []

    async def work(nc: Any) -> tuple[str, list[DeadLetter]]:
        import nats.errors
        import nats.js.errors
        from autonats.runtime import durable

        stream, _, letters = await _read(nc, args, 0)
        js = nc.jetstream(timeout=args.timeout)
        done = []
        for letter in letters:
            if not letter.subject:
                failures.append(
                    f"dead letter {letter.seq}: no Autonats-Subject header, so its "
                    "subject is unknown; publish its body yourself (nats stream get)"
                )
                continue
            try:
                await js.publish(
                    letter.subject,
                    letter.body,
                    headers=durable.replay_headers(letter.headers, stream, letter.seq),
                )
            except nats.js.errors.NoStreamResponseError:
                failures.append(
                    f"dead letter {letter.seq}: no stream takes {letter.subject} "
                    "(is the method still durable, and its handler started?)"
                )
                continue
            except nats.errors.Error as exc:
                failures.append(
                    f"dead letter {letter.seq} ({letter.subject}): not stored: "
                    f"{_reason(exc)}"
                )
                continue
            if not args.keep:
                try:
                    await js.delete_msg(stream, letter.seq)
                except nats.errors.Error as exc:
                    failures.append(
                        f"dead letter {letter.seq}: replayed, but still in {stream} "
                        f"({_reason(exc)}); replaying it again within 2 minutes "
                        "stores it once"
                    )
            done.append(letter)
        return stream, done

    stream, done = _run(args, work)
    if args.json:
        _print_json(
            {
                "replayed": [letter.as_json() for letter in done],
                "failed": failures,
            }
        )
    else:
        by_method: dict[str, int] = {}
        for letter in done:
            by_method[letter.method] = by_method.get(letter.method, 0) + 1
        counts = ", ".join(f"{m}: {n}" for m, n in sorted(by_method.items()))
        print(
            f"replayed {len(done)} dead letter{'s' if len(done) != 1 else ''} of "
            f"{args.service}"
            + (f" ({counts})" if counts else "")
            + ("" if args.keep or not done else f"; removed from {stream}")
        )
        for failure in failures:
            print(f"autonats: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _reason(exc: BaseException) -> str:
    return " ".join((str(exc) or type(exc).__name__).split())
