"""HTTP pieces of the waiting room shared by the routers it guards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from boxoffice.api import path_id
from boxoffice.auth import CurrentUserId
from boxoffice.queue import service
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission

QueueToken = Annotated[
    str | None,
    Header(alias="X-Queue-Token", max_length=512, description="The waiting-room token"),
]


async def waiting_room(request: Request) -> WaitingRoom:
    room: WaitingRoom = request.app.state.waiting_room
    return room


Room = Annotated[WaitingRoom, Depends(waiting_room)]


async def admission(
    user_id: CurrentUserId, room: Room, queue_token: QueueToken = None
) -> Admission:
    return await service.admission(room, queue_token, user_id)


# "Admitted to this concert": the request's queue token is this user's ACTIVE one; the service
# holds it against the concert of the seat, schedule or reservation the request is about.
Admitted = Annotated[Admission, Depends(admission)]


async def schedule_admission(
    schedule_id: Annotated[int, path_id("Schedule id")],
    user_id: CurrentUserId,
    room: Room,
    queue_token: QueueToken = None,
) -> Admission:
    """The same, for a route with a schedule in its path: a malformed id is answered (422)
    before the token is looked at, as it would be without a queue token."""
    return await admission(user_id, room, queue_token)


AdmittedForSchedule = Annotated[Admission, Depends(schedule_admission)]
