"""Golden case (regression): defaults rendered with the wrong quotes.

ruff format writes ``'say "hi"'``, ``b"\\x00"`` and ``(1, "a")``; the generator
writes ``"say \\"hi\\""``, ``b'\\x00'`` and ``(1, 'a')``.
"""

from __future__ import annotations

from typing import Protocol

import autonats


@autonats.service("quotes")
class QuotesService(Protocol):
    async def greet(self, text: str = 'say "hi"') -> None: ...

    async def raw(self, blob: bytes = b"\x00") -> None: ...

    async def pair(self, pair: tuple[int, str] = (1, "a")) -> None: ...
