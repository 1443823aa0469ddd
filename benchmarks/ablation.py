"""What each mechanism of autonats' call path costs, added one at a time to raw nats-py.

The profile says where time is spent; this says what it buys back to remove a
mechanism. Every variant is the raw msgspec echo; the ratios are against
"wildcard inbox", which is how autonats' client already waits for replies
(one subscription, a future per call) instead of ``nc.request``.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from dataclasses import dataclass
from typing import Any

import nats
import nats.aio.client
import nats.aio.msg

from benchmarks.contenders import _decode, _encode
from benchmarks.echo import Item, make_item
from benchmarks.runner import Budget, parallel, sequential

__all__ = ["VARIANTS", "Variant", "run_ablation"]

_HEADERS = {"Autonats-Timeout": "5000"}


@dataclass(frozen=True)
class Variant:
    """Which mechanisms one echo path has."""

    label: str
    inbox: bool = True  # one wildcard inbox, else nc.request
    header: bool = False  # Autonats-Timeout header on every request
    client_timer: bool = False  # loop.call_at per call for the deadline
    task: bool = False  # the handler serves each message in a task of its own
    server_timer: bool = False  # loop.call_at per call in the handler


VARIANTS = (
    Variant("nc.request (raw nats-py)", inbox=False),
    Variant("wildcard inbox"),
    Variant("inbox + timeout header", header=True),
    Variant("inbox + client deadline timer", client_timer=True),
    Variant("inbox + task per message", task=True),
    Variant("inbox + handler deadline timer", server_timer=True),
    Variant(
        "inbox + all four",
        header=True,
        client_timer=True,
        task=True,
        server_timer=True,
    ),
)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class _Echo:
    """One variant's handler and client, on connections of their own."""

    def __init__(self, variant: Variant, index: int) -> None:
        self.variant = variant
        self.label = variant.label
        self.subject = f"ablation.{index}"
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[str, asyncio.Future[nats.aio.msg.Msg]] = {}
        self._tokens = itertools.count(1)

    async def start(self, url: str) -> None:
        v = self.variant
        loop = asyncio.get_running_loop()
        self.server = server = await nats.connect(url, max_reconnect_attempts=0)
        self.nc = await nats.connect(url, max_reconnect_attempts=0)

        async def serve(msg: nats.aio.msg.Msg) -> None:
            if msg.headers:
                msg.headers.get("Autonats-Timeout")
            timer = loop.call_at(loop.time() + 5, _noop) if v.server_timer else None
            body = _encode(_decode(msg.data))
            if timer is not None:
                timer.cancel()
            await server.publish(msg.reply, body)

        async def on_request(msg: nats.aio.msg.Msg) -> None:
            if v.task:
                task = asyncio.ensure_future(serve(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                await serve(msg)

        async def on_reply(msg: nats.aio.msg.Msg) -> None:
            future = self._waiting.pop(msg.subject[len(self._prefix) :], None)
            if future is not None and not future.done():
                future.set_result(msg)

        await server.subscribe(self.subject, queue="q", cb=on_request)
        self._prefix = self.nc.new_inbox() + "."
        await self.nc.subscribe(self._prefix + "*", cb=on_reply)
        await server.flush()
        await self.nc.flush()

    async def stop(self) -> None:
        await self.nc.close()
        await self.server.close()

    async def call(self, item: Item) -> Item:
        v = self.variant
        headers = _HEADERS if v.header else None
        if not v.inbox:
            msg = await self.nc.request(self.subject, _encode(item), 5, headers=headers)
            return _decode(msg.data)
        loop = asyncio.get_running_loop()
        token = format(next(self._tokens), "x")
        future: asyncio.Future[nats.aio.msg.Msg] = loop.create_future()
        self._waiting[token] = future
        timer = (
            loop.call_at(loop.time() + 5, _expire, future) if v.client_timer else None
        )
        try:
            await self.nc.publish(
                self.subject, _encode(item), reply=self._prefix + token, headers=headers
            )
            msg = await future
        finally:
            if timer is not None:
                timer.cancel()
        return _decode(msg.data)

    def same(self, reply: Any, item: Item) -> bool:
        return bool(reply == item)


def _noop() -> None:
    pass


@dataclass
class AblationRow:
    """Median calls/s of one variant, 1 and ``inflight`` in flight."""

    variant: Variant
    seq: list[float]
    par: list[float]

    @property
    def seq_rate(self) -> float:
        return statistics.median(self.seq)

    @property
    def par_rate(self) -> float:
        return statistics.median(self.par)


def run_ablation(
    url: str,
    *,
    seconds: float | None = 0.7,
    calls: int | None = None,
    repeats: int = 3,
    inflight: int = 100,
) -> list[AblationRow]:
    """Measure every variant, interleaved, ``repeats`` times."""

    async def measure() -> list[AblationRow]:
        echoes = [_Echo(v, i) for i, v in enumerate(VARIANTS)]
        rows = [AblationRow(v, [], []) for v in VARIANTS]
        item = make_item(100)
        budget = Budget(seconds, calls)
        for echo in echoes:
            await echo.start(url)
        try:
            for echo in echoes:  # warm up
                await sequential(echo, item, item, Budget(None, 5), True)
            for _ in range(repeats):
                for echo, row in zip(echoes, rows, strict=True):
                    run = await sequential(echo, item, item, budget, False)
                    row.seq.append(run.rate)
                    run = await parallel(echo, item, item, budget, inflight, False)
                    row.par.append(run.rate)
        finally:
            for echo in echoes:
                await echo.stop()
        return rows

    return asyncio.run(measure())


def ablation_table(rows: list[AblationRow], inflight: int = 100) -> str:
    """Markdown: calls/s and ratio to the wildcard-inbox variant."""
    base = next((r for r in rows if r.variant.label == "wildcard inbox"), rows[0])
    out = [
        f"| echo path | 1 in flight calls/s | vs inbox | {inflight} in flight calls/s "
        "| vs inbox |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| {r.variant.label} | {r.seq_rate:,.0f} | {r.seq_rate / base.seq_rate:.2f}x "
            f"| {r.par_rate:,.0f} | {r.par_rate / base.par_rate:.2f}x |"
        )
    return "\n".join(out)
