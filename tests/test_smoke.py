"""The example service answers through its generated client."""

from __future__ import annotations

import nats.aio.client

from shop import UserStore
from users_nats import UserClient, UserHandler


async def test_example_round_trip(nc: nats.aio.client.Client) -> None:
    async with UserHandler(nc, UserStore()):
        client = UserClient(nc)
        created = await client.create("Ada")
        assert (await client.get_by_id(created.id)).name == "Ada"
