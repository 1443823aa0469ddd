"""A contender's handler in a process of its own: ``python -m benchmarks.handler NAME URL NS``.

Prints ``ready <address>`` once it serves, answers ``<NS>.<NAME>.control.count``
with the number of oneway messages it has counted, and stops when its standard
input closes (the parent closed it or died), or after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading

import nats
import nats.aio.msg

from benchmarks.contenders import by_name


def control_subject(namespace: str, name: str) -> str:
    """Where a separate-process handler reports its oneway count."""
    return f"{namespace}.{name}.control.count"


async def _main(name: str, url: str, namespace: str, lifetime: float) -> None:
    contender = by_name(name)(namespace)
    address = await contender.serve(url)
    control = await nats.connect(url, max_reconnect_attempts=0)

    async def count(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(str(contender.received).encode())

    await control.subscribe(control_subject(namespace, name), cb=count)
    await control.flush()

    loop = asyncio.get_running_loop()
    closed = asyncio.Event()

    def wait_for_eof() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(closed.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    print(f"ready {address}", flush=True)
    try:
        await asyncio.wait_for(closed.wait(), lifetime)
    except asyncio.TimeoutError:
        print("lifetime over: stopping", file=sys.stderr)
    finally:
        await control.close()
        await contender.stop_serving()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name")
    parser.add_argument("url")
    parser.add_argument("namespace")
    parser.add_argument("--lifetime", type=float, default=1800.0)
    args = parser.parse_args()
    asyncio.run(_main(args.name, args.url, args.namespace, args.lifetime))


if __name__ == "__main__":
    main()
