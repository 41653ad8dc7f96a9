"""The waiting-room gate in front of seat listing, holds and payments.

PLACEHOLDER until the waiting room lands: the signatures are final, the bodies are not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from boxoffice.queue.backend import WaitingRoom

QueueToken = Annotated[
    str | None,
    Header(alias="X-Queue-Token", max_length=512, description="The waiting-room token"),
]


def waiting_room(request: Request) -> WaitingRoom:
    room: WaitingRoom = request.app.state.waiting_room
    return room


Room = Annotated[WaitingRoom, Depends(waiting_room)]


async def require_admission(
    room: WaitingRoom, token: str | None, user_id: int, concert_id: int
) -> None:
    """Raise QueueTokenInvalid / QueueNotAdmitted unless `token` is ACTIVE for this user and
    this concert."""
    return None
