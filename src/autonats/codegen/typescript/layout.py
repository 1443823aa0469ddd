"""TypeScript text laid out the way prettier (3.x, default options) writes it.

Only the shapes the generated modules use: type expressions, signatures,
calls and literals. Each type is a small tree (:class:`TsType`); a line too
long for 80 columns breaks at the outermost node first, as prettier does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from autonats.codegen import buffer

__all__ = [
    "WIDTH",
    "Buffer",
    "TsType",
    "array",
    "atom",
    "generic",
    "is_identifier",
    "literal",
    "object_type",
    "property_key",
    "quote",
    "tuple_type",
    "union",
]

WIDTH = 80  # prettier's printWidth
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def is_identifier(name: str) -> bool:
    """Whether ``name`` can be written without quotes as a property key."""
    return _IDENTIFIER.fullmatch(name) is not None or name.isidentifier()


def quote(text: str) -> str:
    """A string literal with prettier's quotes: double, unless the text holds
    more double quotes than single ones."""
    double = text.count('"') > text.count("'")
    mark = "'" if double else '"'
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == mark:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch in "\u2028\u2029\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return mark + "".join(out) + mark


def property_key(name: str) -> str:
    """``name`` as an object or interface key: bare when it can be, else quoted."""
    return name if is_identifier(name) else quote(name)


def literal(value: object) -> str:
    """A JSON-compatible scalar as a TypeScript literal (and literal type)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no TypeScript literal for {value!r}")


# -- type expressions ---------------------------------------------------------


@dataclass(frozen=True)
class TsType:
    """A type expression: an atom, or a union, array, generic, tuple or object type.

    ``items`` are the members (union), the item (array), the arguments
    (generic), or the elements / members (tuple, object) with ``labels`` and
    ``optional`` beside them.
    """

    kind: str  # "atom", "union", "array", "generic", "tuple" or "object"
    text: str = ""  # an atom's text, or a generic's name
    items: tuple[TsType, ...] = ()
    labels: tuple[str, ...] = ()
    optional: tuple[bool, ...] = ()

    def __str__(self) -> str:
        if self.kind == "atom":
            return self.text
        if self.kind == "union":
            return " | ".join(str(m) for m in self.items)
        if self.kind == "array":
            item = self.items[0]
            return f"({item})[]" if item.kind == "union" else f"{item}[]"
        if self.kind == "generic":
            return f"{self.text}<{', '.join(str(a) for a in self.items)}>"
        parts = self.member_lines()
        if self.kind == "tuple":
            return f"[{', '.join(parts)}]"
        return f"{{ {'; '.join(parts)} }}" if parts else "{}"

    def _members(self) -> Iterator[tuple[str, TsType, bool]]:
        return zip(self.labels, self.items, self.optional, strict=True)

    def member_heads(self) -> list[tuple[str, TsType]]:
        """The elements of a tuple or object type: what precedes each type, and the type."""
        if self.kind == "tuple" and not self.labels:
            return [("", i) for i in self.items]
        return [
            (f"{label}{'?' if opt else ''}: ", item)
            for label, item, opt in self._members()
        ]

    def member_lines(self) -> list[str]:
        """The elements of a tuple or object type, each on one line."""
        return [f"{head}{item}" for head, item in self.member_heads()]


def atom(text: str) -> TsType:
    """A type written as is: ``string``, ``User``, ``"once"``."""
    return TsType("atom", text)


def union(members: Sequence[TsType]) -> TsType:
    """``A | B``: nested unions flattened, duplicates dropped, order kept."""
    flat: list[TsType] = []
    for member in members:
        for m in member.items if member.kind == "union" else (member,):
            if m not in flat:
                flat.append(m)
    return flat[0] if len(flat) == 1 else TsType("union", items=tuple(flat))


def array(item: TsType) -> TsType:
    """``T[]``."""
    return TsType("array", items=(item,))


def generic(name: str, *args: TsType) -> TsType:
    """``Name<A, B>``."""
    return TsType("generic", name, tuple(args))


def tuple_type(
    items: Sequence[TsType], labels: Sequence[str] = (), optional: Sequence[bool] = ()
) -> TsType:
    """``[A, B]``, or with labels ``[lat: number, lon?: number]``."""
    return TsType(
        "tuple",
        items=tuple(items),
        labels=tuple(labels),
        optional=tuple(optional) if labels else (),
    )


def object_type(
    keys: Sequence[str], items: Sequence[TsType], optional: Sequence[bool]
) -> TsType:
    """``{ a: A; b?: B }``; keys are already written as keys."""
    return TsType(
        "object", items=tuple(items), labels=tuple(keys), optional=tuple(optional)
    )


# -- the buffer -----------------------------------------------------------------


class Buffer(buffer.Buffer):
    """Lines of text at an indentation level, and prettier's ways of breaking them."""

    INDENT = "  "
    WIDTH = WIDTH

    def doc(self, text: str) -> None:
        """A JSDoc comment: one line when it fits, else one line per line of text."""
        text = text.replace("*/", "*\\/")
        lines = text.splitlines()
        if len(lines) == 1 and self.fits(f"/** {lines[0]} */"):
            self.add(f"/** {lines[0]} */")
            return
        self.add("/**")
        for line in lines:
            self.add(f" * {line}".rstrip())
        self.add(" */")

    def typed(self, head: str, node: TsType, tail: str) -> None:
        """``head`` + ``node`` + ``tail``, broken inside the type when too long.

        ``head`` is what comes before the type (``"name: "``, ``"): "``,
        ``"export type X = "``); ``tail`` what follows it (``";"``, ``","``).
        """
        if self.fits(f"{head}{node}{tail}"):
            self.add(f"{head}{node}{tail}")
            return
        if node.kind == "union":
            if not head:  # a generic's argument or a tuple's element
                self._union(node, tail)
                return
            # name:
            #   A | B;      (when that fits, else)
            #   | A
            #   | B;
            self.add(head.rstrip())
            with self.indent():
                if self.fits(f"{node}{tail}"):
                    self.add(f"{node}{tail}")
                else:
                    self._union(node, tail)
            return
        if node.kind == "array" and node.items[0].kind == "union":
            self.add(f"{head}(")
            with self.indent():
                self._union(node.items[0], "")
            self.add(f")[]{tail}")
            return
        if node.kind == "generic" and (
            len(node.items) > 1 or node.items[0].kind != "atom"
        ):
            self.add(f"{head}{node.text}<")
            with self.indent():
                if len(node.items) == 1 and node.items[0].kind == "union":
                    self._union(node.items[0], "")
                else:
                    for i, arg in enumerate(node.items):
                        self.typed("", arg, "," if i < len(node.items) - 1 else "")
            self.add(f">{tail}")
            return
        if node.kind in ("tuple", "object") and node.items:
            opening, closing, separator = (
                ("[", "]", ",") if node.kind == "tuple" else ("{", "}", ";")
            )
            self.add(f"{head}{opening}")
            with self.indent():
                for prefix, item in node.member_heads():
                    self.typed(prefix, item, separator)
            self.add(f"{closing}{tail}")
            return
        self.add(f"{head}{node}{tail}")  # an atom: nothing to break

    def _union(self, node: TsType, tail: str) -> None:
        for i, member in enumerate(node.items):
            self.typed("| ", member, tail if i == len(node.items) - 1 else "")

    def signature(
        self,
        head: str,
        params: Sequence[tuple[str, TsType | None, str]],
        returns: tuple[str, TsType] | None,
        tail: str,
    ) -> None:
        """``head(params)`` + returns + tail, e.g. a method or constructor signature.

        Each parameter is ``(name part, type or None, suffix)``, e.g.
        ``("limit?: ", number, "")`` or ``("fields: ", {...}, " = {}")``;
        ``returns`` is ``("): ", type)`` or None (a constructor).
        """
        flat = ", ".join(
            f"{name}{'' if tp is None else tp}{suffix}" for name, tp, suffix in params
        )
        close, ret = returns if returns is not None else (")", None)
        one_line = f"{head}{flat}{close}{'' if ret is None else ret}{tail}"
        if self.fits(one_line):
            self.add(one_line)
            return
        self.add(head)
        with self.indent():
            for name, tp, suffix in params:
                if tp is None:
                    self.add(f"{name}{suffix},")
                else:
                    self.typed(name, tp, f"{suffix},")
        if ret is None:
            self.add(f"{close}{tail}")
        else:
            self.typed(close, ret, tail)

    def call(self, head: str, args: Sequence[str | tuple[str, ...]], tail: str) -> None:
        """``head(args)tail``: one line, else one argument per line.

        An argument is its text, or the entries of an object literal (which
        stays on one line when it fits there, else one entry per line).
        """
        texts = [a if isinstance(a, str) else _object(a) for a in args]
        one_line = f"{head}{', '.join(texts)}){tail}"
        if self.fits(one_line):
            self.add(one_line)
            return
        self.add(head)
        with self.indent():
            for arg, text in zip(args, texts, strict=True):
                if isinstance(arg, str) or self.fits(f"{text},"):
                    self.add(f"{text},")
                else:
                    self.add("{")
                    with self.indent():
                        for entry in arg:
                            self.add(f"{entry},")
                    self.add("},")
        self.add(f"){tail}")


def _object(entries: tuple[str, ...]) -> str:
    return f"{{ {', '.join(entries)} }}" if entries else "{}"
