"""Version 2 of the user service: an incompatible change, so a new major version.

Ids are integers and the listing is paged. Its subjects are
``autonats.user.v2.*``, beside version 1's ``autonats.user.v1.*`` (users.py):
both run side by side while callers move (see demo.py, docs/versioning.md).
"""

from __future__ import annotations

from typing import Protocol

import autonats

from models import Role, User
from users import UserNotFound


@autonats.service("user", version="2.0.0", errors=[UserNotFound])
class UserServiceV2(Protocol):
    """Users of the shop, version 2: integer ids and a paged listing."""

    async def get_by_id(self, id: int) -> User: ...

    async def page(self, offset: int = 0, limit: int = 50) -> list[User]: ...

    async def create(
        self, name: str, email: str | None = None, role: Role = Role.CUSTOMER
    ) -> User: ...
