"""The waiting-room interface that both backends (Redis, database) implement.

PLACEHOLDER until the waiting room lands: it will grow join/status/leave/tick.
"""

from __future__ import annotations

from typing import Protocol


class WaitingRoom(Protocol):
    async def finish(self, concert_id: int, user_id: int) -> None:
        """The user is done in this concert (paid with no other live hold): expire their
        token and give the place to the next in line."""
