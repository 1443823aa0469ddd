"""Fixtures of the versioning tests."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

VERSIONING = Path(__file__).resolve().parent

# The test interfaces and their generated modules are imported as top-level modules.
if str(VERSIONING) not in sys.path:
    sys.path.insert(0, str(VERSIONING))


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test uses."""
    return f"ver{uuid.uuid4().hex[:10]}"
