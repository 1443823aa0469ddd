"""The rules of ``autonats breaking``: a stable ID, a category and a reason each.

IDs never change meaning once published: CI configurations and ``--except``
name them. Categories say what a change breaks:

- ``SUBJECT``: calls no longer reach a handler (a subject went away or moved);
- ``WIRE``: messages that deployed peers send are rejected, or lose meaning;
- ``SOURCE``: the wire still works, but code calling the generated client
  silently binds its arguments differently.

docs/versioning.md lists them with examples; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "RULES", "Rule"]

CATEGORIES = ("SUBJECT", "WIRE", "SOURCE")


@dataclass(frozen=True)
class Rule:
    """One kind of incompatible change."""

    id: str
    category: str
    why: str  # what it breaks, in one sentence


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "SERVICE_REMOVED",
            "SUBJECT",
            "deployed clients of the service get no responders",
        ),
        Rule(
            "SERVICE_RENAMED",
            "SUBJECT",
            "the service name is part of every subject: deployed clients get no "
            "responders",
        ),
        Rule(
            "MAJOR_VERSION_CHANGED",
            "SUBJECT",
            "a major version has subjects of its own: deployed clients of the "
            "previous major version need a handler of that version",
        ),
        Rule(
            "MAJOR_VERSION_REMOVED",
            "SUBJECT",
            "deployed clients of the retired major version get no responders",
        ),
        Rule(
            "METHOD_REMOVED",
            "SUBJECT",
            "deployed clients calling the method get no responders",
        ),
        Rule(
            "METHOD_RENAMED",
            "SUBJECT",
            "the method name is part of its subject: deployed clients get no "
            "responders",
        ),
        Rule(
            "METHOD_KIND_CHANGED",
            "WIRE",
            "clients and handlers disagree on whether a reply comes back and how "
            "the call travels (core NATS or JetStream)",
        ),
        Rule(
            "PARAM_REMOVED",
            "WIRE",
            "deployed clients still send it and the handler ignores it; handlers "
            "of the previous version reject calls without it",
        ),
        Rule(
            "PARAM_RENAMED",
            "WIRE",
            "arguments travel by name: the handler no longer finds what deployed "
            "clients send",
        ),
        Rule(
            "PARAM_REQUIRED_ADDED",
            "WIRE",
            "deployed clients do not send it, so the handler rejects their calls "
            "(400); give it a default",
        ),
        Rule(
            "PARAM_DEFAULT_REMOVED",
            "WIRE",
            "callers may leave out an argument that has a default; the handler "
            "now rejects calls without it",
        ),
        Rule(
            "PARAM_TYPE_CHANGED",
            "WIRE",
            "the handler rejects values that deployed clients send (400)",
        ),
        Rule(
            "PARAM_MOVED",
            "SOURCE",
            "code passing arguments by position now binds them to other parameters",
        ),
        Rule(
            "PARAM_KIND_CHANGED",
            "SOURCE",
            "code passing the argument by position (or by keyword) no longer can",
        ),
        Rule(
            "RESULT_TYPE_CHANGED",
            "WIRE",
            "a result travels both ways during a rollout: clients of one version "
            "reject what handlers of the other return",
        ),
        Rule(
            "FIELD_REMOVED",
            "WIRE",
            "peers of the previous version still send or expect it: it is lost, "
            "or its absence is rejected",
        ),
        Rule(
            "FIELD_RENAMED",
            "WIRE",
            "fields travel by name: peers of the previous version send and expect "
            "the old one",
        ),
        Rule(
            "FIELD_TYPE_CHANGED",
            "WIRE",
            "peers of the previous version send or accept values of the old type",
        ),
        Rule(
            "FIELD_REQUIRED_ADDED",
            "WIRE",
            "peers of the previous version do not send it, so their messages are "
            "rejected; give it a default",
        ),
        Rule(
            "FIELD_DEFAULT_REMOVED",
            "WIRE",
            "senders may leave out a field that has a default; it is now required",
        ),
        Rule(
            "FIELD_MADE_OPTIONAL",
            "WIRE",
            "a handler may now leave the field out of a reply, which clients of "
            "the previous version reject",
        ),
        Rule(
            "FIELD_ADDED_TO_CLOSED_TYPE",
            "WIRE",
            "the previous version rejects unknown fields (forbid_unknown_fields, "
            "extra='forbid'), and the new one sends this one",
        ),
        Rule(
            "ENUM_MEMBER_REMOVED",
            "WIRE",
            "peers of the previous version still send the value; it is rejected",
        ),
        Rule(
            "ENUM_MEMBER_ADDED",
            "WIRE",
            "a handler may now return the value, and clients of the previous "
            "version reject it (in types that only clients send, adding a value "
            "is compatible)",
        ),
        Rule(
            "ERROR_REMOVED",
            "WIRE",
            "deployed clients catch it by name; handlers of the previous version "
            "still raise it and new clients no longer know it",
        ),
        Rule(
            "ERROR_CODE_CHANGED",
            "WIRE",
            "clients and dashboards read the code: the same error now reports "
            "another one",
        ),
    )
}
