"""HTTP pieces of the waiting room shared by the routers it guards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from boxoffice.queue.backend import WaitingRoom

QueueToken = Annotated[
    str | None,
    Header(alias="X-Queue-Token", max_length=512, description="The waiting-room token"),
]


async def waiting_room(request: Request) -> WaitingRoom:
    room: WaitingRoom = request.app.state.waiting_room
    return room


Room = Annotated[WaitingRoom, Depends(waiting_room)]
