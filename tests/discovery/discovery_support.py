"""Helpers of the NATS Services API tests: official schemas, handler processes, the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import nats.aio.client

from support import ServeProcess

DATA = Path(__file__).resolve().parent.parent / "data"
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
CLI_TIMEOUT = 30


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


#: Validators of the official ADR-32 response schemas, by verb.
VALIDATORS = {
    verb: jsonschema.Draft7Validator(
        load(f"{verb.lower()}_response.json"),
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )
    for verb in ("PING", "INFO", "STATS")
}


def check(verb: str, response: dict[str, Any]) -> None:
    """Fail unless ``response`` passes the official schema of ``verb``."""
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in VALIDATORS[verb].iter_errors(response)
    ]
    assert not errors, f"$SRV.{verb} response fails the official schema: {errors}"


async def gather(
    nc: nats.aio.client.Client, subject: str, wait: float = 0.3
) -> list[dict[str, Any]]:
    """Every reply to one request on ``subject`` that arrives within ``wait`` seconds."""
    inbox = nc.new_inbox()
    replies: list[dict[str, Any]] = []

    async def on_reply(msg: Any) -> None:
        if msg.data:
            replies.append(json.loads(msg.data))

    sub = await nc.subscribe(inbox, cb=on_reply)
    await nc.publish(subject, b"", reply=inbox)
    await asyncio.sleep(wait)
    await sub.unsubscribe()
    return replies


def cli(*args: str, cwd: Path = EXAMPLES) -> subprocess.CompletedProcess[str]:
    """Run ``autonats ARGS`` in a child process (blocking)."""
    return subprocess.run(
        [sys.executable, "-m", "autonats.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env={**os.environ, "NATS_URL": ""},
    )


async def acli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``autonats ARGS`` without blocking the event loop (for in-process handlers)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "autonats.cli",
        *args,
        cwd=EXAMPLES,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NATS_URL": ""},
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    assert proc.returncode is not None
    return subprocess.CompletedProcess(
        list(args), proc.returncode, out.decode(), err.decode()
    )


class Served:
    """``autonats serve shop:UserStore`` child processes, stopped with SIGINT (drain)."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.procs: list[ServeProcess] = []

    def start(self, count: int = 1) -> None:
        started = [
            ServeProcess(
                "shop:UserStore",
                "--server",
                self.url,
                cwd=EXAMPLES,
                log=self.logs / f"handler-{len(self.procs) + n}.log",
            )
            for n in range(count)
        ]
        self.procs += started
        for proc in started:
            proc.wait_serving_sync("serving user", timeout=20)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.alive:
                proc.process.send_signal(signal.SIGINT)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):  # then it was killed
                proc.stop_sync(signal.SIGINT, timeout=10)
        self.procs = []
