"""Compare two contract descriptions and report every incompatible change.

The question asked of each change is whether a deployed peer of the previous
version and a peer of the new version still understand each other, both ways
round (an old client calling a new handler, a new client calling an old one),
for every message that was valid under the previous version:

- **requests** carry what callers choose: the new version must accept every
  value the previous one accepted. It may accept more (``int`` -> ``float``,
  ``X`` -> ``X | None``, a new enum member): sending the new values is a new
  feature that needs new handlers, like calling a new method.
- **replies** (results, declared errors) carry what handlers choose, and
  during a rollout they travel from either version to either version, so
  their types must accept each other's values. Objects may still gain
  fields that have a default.

Removing anything is breaking wherever it is: whoever still sends it loses
data, whoever still expects it fails.

Types are compared as JSON (docs/protocol.md, section 8): ``list`` and
``set`` are the same array, a dataclass and a Struct the same object, an
Enum is its values, and a NamedTuple is an array whose fields match by
position.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from autonats.breaking.rules import RULES
from autonats.breaking.types import (
    REPLY,
    REQUEST,
    accepts,
    constraint_change,
    family,
    looser,
    member_text,
    members,
    show,
    value_key,
)
from autonats.codegen.describe import (
    KIND_NAMES,
    Array,
    Choice,
    Contract,
    Dict,
    Field,
    Method,
    Object,
    Param,
    Ref,
    Scalar,
    Service,
    Tuple,
    Type,
)

__all__ = ["Finding", "Use", "check"]


@dataclass(frozen=True)
class Use:
    """Where a changed element is used: a parameter, a result or an error."""

    service: str
    method: str | None = None
    parameter: str | None = None
    error: str | None = None
    field: str | None = None  # dotted path inside the parameter, result or error
    text: str = ""  # how messages name it: 'user.create (parameter "address")'


@dataclass(frozen=True)
class Finding:
    """One incompatible change, located in the new version's source.

    A change to a type shared by several methods is one finding with a
    :class:`Use` for each place that reaches it, the first in ``uses[0]``.
    """

    rule: str
    file: str
    line: int
    message: str
    uses: tuple[Use, ...]
    #: The service moved to a new major version: deployed callers of the
    #: previous one are not affected as long as it is still served.
    new_major: bool = False

    @property
    def category(self) -> str:
        """The rule's category: SUBJECT, WIRE or SOURCE."""
        return RULES[self.rule].category

    @property
    def service(self) -> str:
        """The (first) service the change affects."""
        return self.uses[0].service

    @property
    def method(self) -> str | None:
        """The (first) method the change affects, if it is in a method."""
        return self.uses[0].method


def check(old: Contract, new: Contract) -> list[Finding]:
    """Every change from ``old`` to ``new`` that would break a deployed peer,
    in source order."""
    checker = _Checker(old, new)
    checker.contracts()
    grouped: dict[tuple[Any, ...], list[_Raw]] = {}
    for raw in checker.raw:
        key: tuple[Any, ...] = (raw.rule, raw.file, raw.line, raw.text, raw.new_major)
        if not raw.nested:
            key += (raw.use.text,)
        grouped.setdefault(key, []).append(raw)
    findings = []
    for (rule, file, line, text, new_major, *_), raws in grouped.items():
        uses = tuple(dict.fromkeys(r.use for r in raws))
        message = f"{uses[0].text}: {text}" if raws[0].nested else text
        if len(uses) > 1:
            others = [u.text for u in uses[1:]]
            shown = ", ".join(others[:_SHOWN_USES])
            if len(others) > _SHOWN_USES:
                shown += f" and {len(others) - _SHOWN_USES} more"
            message += f"; also in {shown}"
        findings.append(Finding(rule, file, line, message, uses, new_major))
    return sorted(findings, key=lambda f: (f.file, f.line, f.rule, f.message))


_SHOWN_USES = 3


@dataclass(frozen=True)
class _Raw:
    rule: str
    file: str
    line: int
    text: str
    use: Use
    nested: bool  # about a type: the same text from other uses is one finding
    new_major: bool


# -- where a finding is --------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    """What is being compared: a parameter, a result or a declared error."""

    service: str
    head: str  # how messages start: "user.create", "user (error NotFound)"
    method: str | None = None
    parameter: str | None = None
    error: str | None = None
    where: str = ""  # "parameter \"address\"", "result", "" for errors


@dataclass(frozen=True)
class _Owner:
    """The element a type belongs to: its change is reported under ``rule``."""

    rule: str
    label: str  # 'parameter "limit"', "result", "field User.age"
    file: str
    line: int
    path: tuple[str, ...] = ()  # field names from the parameter, result or error


@dataclass(frozen=True)
class _Item:
    """An item of an array of fixed length."""

    type: Type
    required: bool
    field: Field | None = None  # of a NamedTuple or array_like Struct
    object: Object | None = None


# -- the comparison ------------------------------------------------------------


@dataclass
class _Checker:
    old: Contract
    new: Contract
    raw: list[_Raw] = field(default_factory=list)
    new_major: bool = False
    use: _Use = field(default_factory=lambda: _Use("", ""))
    #: Object pairs being compared (a stack): a recursive type stops here.
    _open: set[tuple[str, str, str]] = field(default_factory=set)

    # findings

    def emit(
        self,
        rule: str,
        file: str,
        line: int,
        text: str,
        path: tuple[str, ...] = (),
        *,
        nested: bool = False,
    ) -> None:
        """Record a finding; ``nested`` ones are about a type and are named by
        where the type is used."""
        u = self.use
        use = Use(
            service=u.service,
            method=u.method,
            parameter=u.parameter,
            error=u.error,
            field=".".join(path) or None,
            text=self.prefix,
        )
        self.raw.append(_Raw(rule, file, line, text, use, nested, self.new_major))

    @property
    def prefix(self) -> str:
        """How a message about something inside the current use starts:
        ``user.create (parameter "address")``."""
        u = self.use
        return f"{u.head} ({u.where})" if u.where else u.head

    def scratch(self) -> _Checker:
        return _Checker(self.old, self.new, use=self.use)

    # services

    def contracts(self) -> None:
        old = {(s.name, s.major): s for s in self.old.services}
        new = {(s.name, s.major): s for s in self.new.services}
        pairs = [(old[k], new[k]) for k in old if k in new]
        kept = {name for name, major in old if (name, major) in new}
        left = [s for k, s in old.items() if k not in new]
        free = [s for k, s in new.items() if k not in old]
        for o in sorted(left, key=lambda s: -s.major):
            if o.name in kept:
                continue  # another major version stays: this one was retired
            # The same service under another major version only: it moved.
            bumped = [n for n in free if n.name == o.name]
            if bumped:
                later = [n for n in bumped if n.major > o.major]
                n = min(later or bumped, key=lambda s: s.major)
                pairs.append((o, n))
                left.remove(o)
                free.remove(n)
        for o, n in pairs:
            self.new_major = o.major != n.major
            self.service(o, n)
        for o in left:
            self.use = _Use(o.name, o.name)
            others = sorted(n.version for n in self.new.services if n.name == o.name)
            if others:
                self.new_major = True
                self.emit(
                    "MAJOR_VERSION_REMOVED",
                    self.new.file,
                    1,
                    f'service "{o.name}" version {o.version} was removed '
                    f"(still served: {', '.join(others)})",
                )
                continue
            self.new_major = False
            renamed = next((n for n in free if _same_shape(o, n)), None)
            if renamed is not None:
                free.remove(renamed)
                self.emit(
                    "SERVICE_RENAMED",
                    renamed.file,
                    renamed.line,
                    f'service "{o.name}" was renamed to "{renamed.name}"',
                )
            else:
                self.emit(
                    "SERVICE_REMOVED",
                    self.new.file,
                    1,
                    f'service "{o.name}" ({o.protocol}) was removed',
                )

    def service(self, o: Service, n: Service) -> None:
        self.use = _Use(n.name, n.name)
        if self.new_major:
            moved = ""
            first = next((m for m in o.methods if m.name in _names(n.methods)), None)
            if first is not None:
                later = next(m for m in n.methods if m.name == first.name)
                if later.subject != first.subject:
                    moved = f": {first.subject} is now {later.subject}"
            self.emit(
                "MAJOR_VERSION_CHANGED",
                n.file,
                n.line,
                f'service "{n.name}" moved from version {o.version} to '
                f"{n.version}{moved}",
            )
        self.errors(o, n)
        self.methods(o, n)

    def errors(self, o: Service, n: Service) -> None:
        new = {e.name: e for e in n.errors}
        for oe in o.errors:
            self.use = _Use(n.name, n.name)
            ne = new.get(oe.name)
            if ne is None:
                self.emit(
                    "ERROR_REMOVED",
                    n.file,
                    n.line,
                    f"{n.name}: declared error {oe.name} was removed",
                )
                continue
            self.use = _Use(n.name, f"{n.name} (error {ne.name})", error=ne.name)
            if oe.code != ne.code:
                self.emit(
                    "ERROR_CODE_CHANGED",
                    ne.file,
                    ne.line,
                    f"{n.name}: error {ne.name} changed code from {oe.code} to "
                    f"{ne.code}",
                )
            self.fields(
                oe.fields,
                ne.fields,
                REPLY,
                owner=_Owner("", f"error {ne.name}", ne.file, ne.line),
                name=ne.name,
                closed=False,
            )

    def methods(self, o: Service, n: Service) -> None:
        new = {m.name: m for m in n.methods}
        removed = [m for m in o.methods if m.name not in new]
        added = [m for m in n.methods if m.name not in _names(o.methods)]
        for om in o.methods:
            nm = new.get(om.name)
            if nm is not None:
                self.method(n, om, nm)
        for om in removed:
            self.use = _Use(n.name, f"{n.name}.{om.name}", method=om.name)
            renamed = next((m for m in added if self.same_method(om, m)), None)
            if renamed is not None:
                added.remove(renamed)
                self.emit(
                    "METHOD_RENAMED",
                    renamed.file or n.file,
                    renamed.line,
                    f"method {n.name}.{om.name} was renamed to {n.name}.{renamed.name}",
                )
            else:
                self.emit(
                    "METHOD_REMOVED",
                    n.file,
                    n.line,
                    f"method {n.name}.{om.name} was removed",
                )

    def same_method(self, o: Method, n: Method) -> bool:
        if o.kind != n.kind or len(o.params) != len(n.params):
            return False
        if any(
            a.name != b.name or a.required != b.required
            for a, b in zip(o.params, n.params, strict=True)
        ):
            return False
        pairs = [(a.type, b.type) for a, b in zip(o.params, n.params, strict=True)]
        return all(self.same(a, b) for a, b in [*pairs, (o.returns, n.returns)])

    def method(self, s: Service, o: Method, n: Method) -> None:
        self.use = _Use(s.name, f"{s.name}.{n.name}", method=n.name)
        file = n.file or s.file
        if o.kind != n.kind:
            self.emit(
                "METHOD_KIND_CHANGED",
                file,
                n.line,
                f"{s.name}.{n.name} changed from {_kind(o.kind)} to {_kind(n.kind)}",
            )
        self.params(s, o, n)
        if o.kind == n.kind:
            self.use = _Use(s.name, f"{s.name}.{n.name}", method=n.name, where="result")
            owner = _Owner("RESULT_TYPE_CHANGED", "result", file, n.line)
            self.owned(o.returns, n.returns, REPLY, owner)

    # parameters

    def params(self, s: Service, o: Method, n: Method) -> None:
        head = f"{s.name}.{n.name}"
        file = n.file or s.file
        old = {p.name: p for p in o.params}
        new = {p.name: p for p in n.params}
        renamed: dict[str, Param] = {}  # old name -> new parameter
        for i, op in enumerate(o.params):
            if op.name in new or i >= len(n.params):
                continue
            np_ = n.params[i]
            if (
                np_.name not in old
                and np_.required == op.required
                and self.same(op.type, np_.type)
            ):
                renamed[op.name] = np_
        for op in o.params:
            self.use = _Use(s.name, head, method=n.name, parameter=op.name)
            same = new.get(op.name)
            if same is None:
                moved = renamed.get(op.name)
                if moved is not None:
                    self.use = replace(self.use, parameter=moved.name)
                    self.emit(
                        "PARAM_RENAMED",
                        file,
                        moved.line,
                        f'{head}: parameter "{op.name}" was renamed to "{moved.name}"',
                    )
                else:
                    self.emit(
                        "PARAM_REMOVED",
                        file,
                        n.line,
                        f'{head}: parameter "{op.name}" was removed',
                    )
                continue
            self.param(file, head, op, same)
        for np_ in n.params:
            if np_.name in old or np_ in renamed.values() or not np_.required:
                continue
            self.use = _Use(s.name, head, method=n.name, parameter=np_.name)
            self.emit(
                "PARAM_REQUIRED_ADDED",
                file,
                np_.line,
                f'{head}: required parameter "{np_.name}" was added',
            )
        self.moves(s, file, head, o, n, renamed)

    def param(self, file: str, head: str, o: Param, n: Param) -> None:
        if not o.required and n.required:
            self.emit(
                "PARAM_DEFAULT_REMOVED",
                file,
                n.line,
                f'{head}: parameter "{n.name}" lost its default ({o.default})',
            )
        if o.kind != "keyword_only" and n.kind == "keyword_only":
            self.emit(
                "PARAM_KIND_CHANGED",
                file,
                n.line,
                f'{head}: parameter "{n.name}" became keyword-only',
            )
        elif o.kind != "positional_only" and n.kind == "positional_only":
            self.emit(
                "PARAM_KIND_CHANGED",
                file,
                n.line,
                f'{head}: parameter "{n.name}" became positional-only',
            )
        self.use = replace(self.use, where=f'parameter "{n.name}"')
        owner = _Owner("PARAM_TYPE_CHANGED", f'parameter "{n.name}"', file, n.line)
        self.owned(o.type, n.type, REQUEST, owner)

    def moves(
        self,
        s: Service,
        file: str,
        head: str,
        o: Method,
        n: Method,
        renamed: dict[str, Param],
    ) -> None:
        """PARAM_MOVED: a parameter callers may pass by position has another
        position, other than by earlier parameters being removed (calls that
        pass too many arguments fail loudly; calls bound to the wrong
        parameter do not)."""
        new_names = [p.name for p in n.params if p.kind != "keyword_only"]
        gone = 0
        for index, op in enumerate(x for x in o.params if x.kind != "keyword_only"):
            name = renamed[op.name].name if op.name in renamed else op.name
            if name not in new_names:
                gone += 1
                continue
            now = new_names.index(name)
            if now != index - gone:
                self.use = _Use(s.name, head, method=n.name, parameter=name)
                line = next(p.line for p in n.params if p.name == name)
                self.emit(
                    "PARAM_MOVED",
                    file,
                    line,
                    f'{head}: parameter "{name}" moved from position {index + 1} '
                    f"to {now + 1}",
                )

    # types

    def same(self, o: Type, n: Type) -> bool:
        """True when values of either type are always accepted by the other."""
        probe = self.scratch()
        owner = _Owner("RESULT_TYPE_CHANGED", "", "", 0)
        probe.owned(o, n, REPLY, owner)
        return not probe.raw

    def owned(self, o: Type, n: Type, d: str, owner: _Owner) -> None:
        """Compare the type of one element; a change of it is one finding."""
        reasons: list[str] = []
        self.walk(o, n, d, owner, reasons)
        if not reasons:
            return
        before, after = show(o, self.old), show(n, self.new)
        what = owner.label
        head = self.use.head
        if before == after:
            text = f"{what}: type {after} changed: {reasons[0]}"
        else:
            text = f"{what} changed type from {before} to {after}"
            if reasons[0]:
                text += f": {reasons[0]}"
        if owner.path:
            self.emit(owner.rule, owner.file, owner.line, text, owner.path, nested=True)
        else:
            self.emit(owner.rule, owner.file, owner.line, f"{head}: {text}")

    def walk(self, o: Type, n: Type, d: str, owner: _Owner, reasons: list[str]) -> None:
        old_members = members(o, self.old)
        new_members = members(n, self.new)
        if len(old_members) == len(new_members) == 1:
            om, nm = old_members[0], new_members[0]
            if family(om, self.old) == family(nm, self.new):
                self.pair(om, nm, d, owner, reasons)
            elif not (accepts(nm, om) and (d == REQUEST or accepts(om, nm))):
                reasons.append("")
            return
        new_by = {family(m, self.new): m for m in new_members}
        old_by = {family(m, self.old): m for m in old_members}
        for key, om in old_by.items():
            match = new_by.get(key)
            if match is not None:
                self.pair(om, match, d, owner, reasons)
            elif not any(accepts(x, om) for x in new_members):
                reasons.append(f"{show(om, self.old)} is no longer accepted")
        if d == REPLY:
            for key, nm in new_by.items():
                if key not in old_by and not any(accepts(x, nm) for x in old_members):
                    reasons.append(
                        f"it may now be {show(nm, self.new)}, which clients of "
                        "the previous version reject"
                    )

    def pair(self, o: Type, n: Type, d: str, owner: _Owner, reasons: list[str]) -> None:
        """Two types of one JSON family (both strings, both arrays...)."""
        if isinstance(o, Scalar) and isinstance(n, Scalar):
            self.scalars(o, n, d, reasons)
        elif isinstance(o, Choice) and isinstance(n, Choice):
            self.choices(o, n, d, owner)
        elif isinstance(o, Scalar) and isinstance(n, Choice):
            reasons.append(f"only the values of {show(n, self.new)} are accepted now")
        elif isinstance(o, Choice) and isinstance(n, Scalar):
            if n.format or n.constraints:
                reasons.append("")
            elif d == REPLY:
                reasons.append(
                    f"it may now be any {n.name}, which clients of the previous "
                    "version reject"
                )
        elif isinstance(o, Array) and isinstance(n, Array):
            self.walk(o.item, n.item, d, owner, reasons)
        elif isinstance(o, Dict) and isinstance(n, Dict):
            self.walk(o.key, n.key, d, owner, reasons)
            self.walk(o.value, n.value, d, owner, reasons)
        elif isinstance(o, Array):
            reasons.append("it is now an array of fixed length")
        elif isinstance(n, Array):
            if d == REPLY:
                reasons.append("it is now an array of any length")
            else:
                for item in self.items(o, self.old):
                    self.walk(item.type, n.item, d, owner, reasons)
        elif isinstance(o, Ref) and isinstance(n, Ref):
            oo, no = self.old.types[o.id], self.new.types[n.id]
            if oo.array_like or no.array_like:
                self.positional(o, n, d, owner, reasons)
            else:
                self.objects(oo, no, d, owner, reasons)
        elif isinstance(o, Tuple) or isinstance(n, Tuple):
            self.positional(o, n, d, owner, reasons)
        else:  # a dict and an object
            reasons.append("")

    def scalars(self, o: Scalar, n: Scalar, d: str, reasons: list[str]) -> None:
        if o.format != n.format:
            # Any string is a str: a parameter may drop a format (UUID -> str).
            if not (d == REQUEST and not n.format and not n.constraints):
                reasons.append("")
        elif not looser(o.constraints, n.constraints, d):
            reasons.append(constraint_change(o.constraints, n.constraints))

    def choices(self, o: Choice, n: Choice, d: str, owner: _Owner) -> None:
        new_values = {value_key(m.value) for m in n.members}
        old_values = {value_key(m.value) for m in o.members}
        for m in o.members:
            if value_key(m.value) not in new_values:
                self.emit(
                    "ENUM_MEMBER_REMOVED",
                    n.file or owner.file,
                    n.line or owner.line,
                    f"{show(n, self.new)} lost {member_text(m, o)}",
                    owner.path,
                    nested=True,
                )
        if d == REPLY:
            for m in n.members:
                if value_key(m.value) not in old_values:
                    self.emit(
                        "ENUM_MEMBER_ADDED",
                        n.file or owner.file,
                        m.line or n.line or owner.line,
                        f"{show(n, self.new)} gained {member_text(m, n)}, "
                        "which clients of the previous version reject",
                        owner.path,
                        nested=True,
                    )

    # objects

    def objects(
        self, o: Object, n: Object, d: str, owner: _Owner, reasons: list[str]
    ) -> None:
        if (o.tag_field, o.tag) != (n.tag_field, n.tag):
            reasons.append(f"its tag changed from {o.tag!r} to {n.tag!r}")
            return
        key = (o.id, n.id, d)
        if key in self._open:  # a recursive type, already being compared
            return
        self._open.add(key)
        try:
            self.fields(
                o.fields,
                n.fields,
                d,
                owner=_Owner("", owner.label, n.file, n.line, owner.path),
                name=n.name,
                closed=o.closed,
            )
        finally:
            self._open.discard(key)

    def fields(
        self,
        old: Sequence[Field],
        new: Sequence[Field],
        d: str,
        *,
        owner: _Owner,
        name: str,
        closed: bool,
    ) -> None:
        """Fields of an object or an error, matched by their JSON names."""
        new_by = {f.wire: f for f in new}
        old_wires = {f.wire for f in old}
        added = [f for f in new if f.wire not in old_wires]
        for i, of in enumerate(old):
            nf = new_by.get(of.wire)
            path = (*owner.path, of.name)
            if nf is None:
                renamed = new[i] if i < len(new) and new[i] in added else None
                if (
                    renamed is not None
                    and renamed.required == of.required
                    and self.same(of.type, renamed.type)
                ):
                    added.remove(renamed)
                    self.emit(
                        "FIELD_RENAMED",
                        owner.file,
                        renamed.line or owner.line,
                        f"field {name}.{of.name} was renamed to {name}.{renamed.name}",
                        (*owner.path, renamed.name),
                        nested=True,
                    )
                else:
                    self.emit(
                        "FIELD_REMOVED",
                        owner.file,
                        owner.line,
                        f"field {name}.{of.name} was removed",
                        path,
                        nested=True,
                    )
                continue
            path = (*owner.path, nf.name)
            line = nf.line or owner.line
            if not of.required and nf.required and (d == REQUEST or of.omittable):
                self.emit(
                    "FIELD_DEFAULT_REMOVED",
                    owner.file,
                    line,
                    f"field {name}.{nf.name} is now required",
                    path,
                    nested=True,
                )
            if of.required and not nf.required and d == REPLY and nf.omittable:
                self.emit(
                    "FIELD_MADE_OPTIONAL",
                    owner.file,
                    line,
                    f"field {name}.{nf.name} may now be left out",
                    path,
                    nested=True,
                )
            field_owner = _Owner(
                "FIELD_TYPE_CHANGED", f"field {name}.{nf.name}", owner.file, line, path
            )
            self.owned(of.type, nf.type, d, field_owner)
        for nf in added:
            path = (*owner.path, nf.name)
            line = nf.line or owner.line
            if nf.required:
                self.emit(
                    "FIELD_REQUIRED_ADDED",
                    owner.file,
                    line,
                    f"required field {name}.{nf.name} was added",
                    path,
                    nested=True,
                )
            elif closed:
                self.emit(
                    "FIELD_ADDED_TO_CLOSED_TYPE",
                    owner.file,
                    line,
                    f"field {name}.{nf.name} was added to a type whose "
                    "previous version rejects unknown fields",
                    path,
                    nested=True,
                )

    # arrays of fixed length: tuples, NamedTuples, array_like Structs

    def items(self, t: Type, contract: Contract) -> list[_Item]:
        if isinstance(t, Tuple):
            return [_Item(x, True) for x in t.items]
        if isinstance(t, Ref):
            obj = contract.types[t.id]
            return [_Item(f.type, f.required, f, obj) for f in obj.fields]
        return []

    def positional(
        self, o: Type, n: Type, d: str, owner: _Owner, reasons: list[str]
    ) -> None:
        old, new = self.items(o, self.old), self.items(n, self.new)
        for oi, ni in zip(old, new, strict=False):  # lengths: below
            if ni.field is not None and ni.object is not None:
                obj = ni.object
                path = (*owner.path, ni.field.name)
                field_owner = _Owner(
                    "FIELD_TYPE_CHANGED",
                    f"field {obj.name}.{ni.field.name}",
                    obj.file,
                    ni.field.line or obj.line,
                    path,
                )
                if d == REQUEST and not oi.required and ni.required:
                    self.emit(
                        "FIELD_DEFAULT_REMOVED",
                        field_owner.file,
                        field_owner.line,
                        f"field {obj.name}.{ni.field.name} is now required",
                        path,
                        nested=True,
                    )
                self.owned(oi.type, ni.type, d, field_owner)
            else:
                self.walk(oi.type, ni.type, d, owner, reasons)
        if len(new) > len(old):
            extra = new[len(old) :]
            if any(i.required for i in extra):
                reasons.append(f"it now has {len(new)} items instead of {len(old)}")
            elif d == REPLY:
                reasons.append(
                    f"it may now have {len(new)} items, and clients of the previous "
                    f"version accept at most {len(old)}"
                )
        elif len(old) > len(new):
            reasons.append(f"it now has {len(new)} items instead of {len(old)}")


# -- helpers -------------------------------------------------------------------


def _names(methods: Iterable[Method]) -> set[str]:
    return {m.name for m in methods}


def _same_shape(o: Service, n: Service) -> bool:
    """A renamed service: the same Protocol, or the same methods."""
    return o.protocol == n.protocol or _names(o.methods) == _names(n.methods)


def _kind(kind: str) -> str:
    return KIND_NAMES.get(kind, kind)
