"""``autonats breaking``: which changes to an interface break deployed peers.

:func:`check` compares two contract descriptions (built by
:mod:`autonats.codegen.describe`) and returns a :class:`Finding` per
incompatible change; :data:`RULES` says what each rule ID means.
"""

from __future__ import annotations

from autonats.breaking.check import Finding, Use, check
from autonats.breaking.rules import CATEGORIES, RULES, Rule

__all__ = ["CATEGORIES", "RULES", "Finding", "Rule", "Use", "check"]
