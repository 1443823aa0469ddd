"""Generated text as lines at an indentation level: what both renderers write into."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Buffer"]


class Buffer:
    """Lines of text with an indentation level.

    Python's layout by default (4 spaces, 88 columns: ruff format's and
    black's); a renderer of another language sets ``INDENT`` and ``WIDTH`` in a
    subclass.
    """

    INDENT = "    "
    WIDTH = 88

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._level = 0

    def add(self, line: str = "") -> None:
        self._lines.append(self.INDENT * self._level + line if line else "")

    @contextmanager
    def indent(self) -> Iterator[None]:
        self._level += 1
        try:
            yield
        finally:
            self._level -= 1

    def fits(self, line: str) -> bool:
        """Whether ``line`` fits in ``WIDTH`` columns at the current indentation."""
        return len(self.INDENT * self._level) + len(line) <= self.WIDTH

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"
