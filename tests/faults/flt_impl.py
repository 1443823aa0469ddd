"""Implementations served by ``autonats serve flt_impl:Work`` / ``flt_impl:Jobs``
(or ``flt_impl:make_jobs``).

They report what they processed by appending lines to a file of their own
process in the folder ``$FLT_SINK`` (one ``write`` per line, so a ``kill -9``
loses at most the line being written). ``$FLT_BACKOFF`` shortens the durable
redelivery backoff in the handler process, where it applies.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, TextIO

import autonats
import autonats.runtime.durable

from flt_api import Refused

if os.environ.get("FLT_BACKOFF"):
    autonats.runtime.durable.BACKOFF = float(os.environ["FLT_BACKOFF"])


class _Sink:
    """Lines ``<kind> <words>`` appended to ``$FLT_SINK/<kind>-<pid>.log``."""

    def __init__(self) -> None:
        folder = os.environ.get("FLT_SINK")
        self.folder = Path(folder) if folder else None
        self.files: dict[str, TextIO] = {}

    def write(self, kind: str, *words: object) -> None:
        if self.folder is None:
            return
        out = self.files.get(kind)
        if out is None:
            path = self.folder / f"{kind}-{os.getpid()}.log"
            out = self.files[kind] = path.open("a", buffering=1)
        out.write(" ".join(map(str, words)) + "\n")


class Work:
    """flt-work."""

    def __init__(self) -> None:
        self.sink = _Sink()

    async def echo(self, n: int) -> int:
        return n

    async def pid(self) -> int:
        return os.getpid()

    async def slow(self, seconds: float, marker: str = "") -> int:
        if marker:
            self.sink.write(marker, os.getpid())
        await asyncio.sleep(seconds)
        return os.getpid()

    async def fail(self, n: int) -> int:
        raise Refused("refused on purpose", n=n)

    async def note(self, n: int) -> None:
        self.sink.write("note", n)

    async def take(
        self,
        name: str,
        count: int,
        tags: list[str],
        scores: dict[str, float],
        payload: Any = None,
    ) -> int:
        return count + len(tags)


class Jobs:
    """flt-jobs: records every delivery; ``fail=True`` calls raise on every one.

    Each call takes ``$FLT_JOB_SECONDS`` (default 0).
    """

    def __init__(self) -> None:
        self.sink = _Sink()
        self.seconds = float(os.environ.get("FLT_JOB_SECONDS") or 0)
        self.loop: asyncio.AbstractEventLoop | None = None  # set by make_jobs

    async def job(self, n: int, fail: bool = False) -> None:
        call = autonats.current_call()
        message_id = call.message_id if call is not None else ""
        self.sink.write("job", message_id, n)
        if self.seconds:
            await asyncio.sleep(self.seconds)
        if fail:
            raise RuntimeError(f"job {n} fails on purpose")

    async def pid(self) -> int:
        if self.loop is not None and self.loop is not asyncio.get_running_loop():
            raise RuntimeError("made on another event loop than the one serving")
        return os.getpid()


async def make_jobs() -> Jobs:
    """An async factory, as ``autonats serve flt_impl:make_jobs`` takes one."""
    jobs = Jobs()
    jobs.loop = asyncio.get_running_loop()
    return jobs
