"""The generated TypeScript client: it compiles under tsc --strict (and more),
is formatted as prettier would format it, and calls Python handlers on a real
nats-server from Node (client_test.ts holds the checks)."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
import pytest
from autonats.testing import NatsServer

from ts_api_nats import (
    TSBEHAVE_SERVICE,
    TSBUSY_SERVICE,
    TSSTREAMS_SERVICE,
    TSVALUES_SERVICE,
    TsbehaveHandler,
    TsbusyHandler,
    TsstreamsHandler,
    TsvaluesHandler,
    TsversionedHandler,
)
from ts_impl import Behave, Busy, Streams, Values, Versioned
from ts_support import BIN, HERE, ROOT, Build, node, node_env, run


def test_generated_code_compiles_under_strict_flags(build: Build) -> None:
    assert build.tsc.returncode == 0, build.tsc.stdout + build.tsc.stderr
    assert build.tsc.stdout == ""
    out = build.folder / "out"
    assert (out / "gen" / "ts_api.js").exists()
    assert (out / "shop" / "users.js").exists()


def test_generated_code_is_formatted_as_prettier_would(build: Build) -> None:
    files = sorted((build.folder / "gen").glob("*.ts"))
    files += sorted((ROOT / "examples" / "ts").glob("*.ts"))
    files += sorted((HERE / "golden").glob("*.ts"))
    files.append(HERE / "client_test.ts")
    assert len(files) == 8
    proc = run(BIN / "prettier", "--check", *files, cwd=build.folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: Users of the server that refuses: one may not publish to ``denied.>``,
#: the other may not subscribe to its reply inbox.
DENYING = {
    "authorization": {
        "users": [
            {
                "user": "limited",
                "password": "pw",
                "permissions": {"publish": {"deny": ["denied.>"]}},
            },
            {
                "user": "noinbox",
                "password": "pw",
                "permissions": {"subscribe": {"deny": ["_INBOX.>"]}},
            },
        ]
    }
}


async def test_node_client_against_python_handlers(
    build: Build, js_server: NatsServer
) -> None:
    assert build.tsc.returncode == 0, build.tsc.stdout
    prefix = f"ts{uuid.uuid4().hex[:10]}"
    values, behave, busy, streams = Values(), Behave(), Busy(), Streams()
    nc = await nats.connect(js_server.url, max_reconnect_attempts=0)
    try:
        async with (
            TsvaluesHandler(nc, values, prefix=prefix),
            TsbehaveHandler(nc, behave, prefix=prefix),
            TsbusyHandler(nc, busy, prefix=prefix, queue_size=0),
            TsstreamsHandler(nc, streams, prefix=prefix),
            TsversionedHandler(nc, Versioned(), prefix=prefix),
        ):
            # Two round trips: the subscriptions are on the server before node calls.
            await nc.flush()
            await nc.flush()
            with NatsServer(config=DENYING) as denying:
                proc = await asyncio.create_subprocess_exec(
                    node(),
                    "--expose-gc",  # a check collects a dropped stream
                    str(build.program),
                    cwd=build.folder,
                    env=node_env(
                        NATS_URL=js_server.url,
                        NATS_DENY_URL=denying.url,
                        AUTONATS_PREFIX=prefix,
                    ),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                try:
                    stdout, stderr = await asyncio.wait_for(proc.communicate(), 90)
                except asyncio.TimeoutError:
                    proc.kill()
                    await proc.wait()
                    pytest.fail("the Node test program did not finish within 90 s")
        results = [json.loads(line) for line in stdout.decode().splitlines()]
        failed = [f"{r['name']}:\n{r['error']}" for r in results if not r["ok"]]
        assert not failed, "\n\n".join(failed) + "\n" + stderr.decode()
        assert proc.returncode == 0, stderr.decode()
        assert len(results) >= 30, stdout.decode()
        # Durable calls the TypeScript client stored before any handler ran (in
        # a stream it created) are served by the Python handler that starts now.
        later = Behave()
        async with TsbehaveHandler(nc, later, prefix=f"{prefix}-later"):
            for _ in range(500):
                if len(later.keys) >= 2:
                    break
                await asyncio.sleep(0.02)
        assert sorted(later.keys) == ["and a second one", "stored before any handler"]
    finally:
        await nc.close()
    # Every method of every service the handlers serve was called from Node.
    assert values.called == set(TSVALUES_SERVICE.methods)
    assert behave.called == set(TSBEHAVE_SERVICE.methods)
    assert busy.called == set(TSBUSY_SERVICE.methods)
    assert streams.called == set(TSSTREAMS_SERVICE.methods)
    # Every stream Node opened has stopped: no generator is left running.
    assert streams.streams
    assert [k for k, p in streams.streams.items() if not p.closed] == []
