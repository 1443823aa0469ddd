"""Implementations of both sides of compat_old.py / compat_new.py."""

from __future__ import annotations

import compat_new
import compat_old


class OldCompat:
    async def greet(self, name: str) -> str:
        return f"hello {name}"

    async def store(self, item: compat_old.Item) -> int:
        return len(item.name)

    async def report(self) -> compat_old.Report:
        return compat_old.Report(total=3)

    async def paint(self, bright: bool) -> compat_old.Color:
        return compat_old.Color.GREEN if bright else compat_old.Color.RED

    async def check(self, n: int) -> int:
        return n


class NewCompat:
    async def greet(self, name: str, punctuation: str = "!") -> str:
        return f"hello {name}{punctuation}"

    async def store(self, item: compat_new.Item) -> int:
        return len(item.name) + len(item.tags)

    async def report(self) -> compat_new.Report:
        return compat_new.Report(total=3, average=1.5)

    async def paint(self, bright: bool) -> compat_new.Color:
        return compat_new.Color.BLUE if bright else compat_new.Color.RED

    async def check(self, n: int) -> int:
        if n < 0:
            raise compat_new.Rejected("negative", n=n)
        return n

    async def ping(self) -> str:
        return "pong"
