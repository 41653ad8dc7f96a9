"""HTTP pieces of the waiting room shared by the routers it guards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader

from boxoffice.api import path_id
from boxoffice.auth import CurrentUserId
from boxoffice.errors import QueueNotAdmitted, QueueTokenInvalid, ServiceUnavailable
from boxoffice.problems import answers
from boxoffice.queue import service
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission

# A security scheme, so that the docs' Authorize button fills the header; the hidden header
# parameter beside it keeps the length check (a longer token is a 422, as it always was).
_queue_token_scheme = APIKeyHeader(
    name="X-Queue-Token",
    auto_error=False,
    scheme_name="QueueToken",
    description="The waiting-room `token` of `POST /concerts/{concert_id}/queue/tokens` "
    "(at most 512 characters).",
)


async def queue_token(
    _documented: Annotated[str | None, Security(_queue_token_scheme)],
    token: Annotated[
        str | None, Header(alias="X-Queue-Token", max_length=512, include_in_schema=False)
    ] = None,
) -> str | None:
    return token


QueueToken = Annotated[str | None, Depends(queue_token)]


@answers(ServiceUnavailable)
async def waiting_room(request: Request) -> WaitingRoom:
    room: WaitingRoom = request.app.state.waiting_room
    return room


Room = Annotated[WaitingRoom, Depends(waiting_room)]


@answers(QueueTokenInvalid, QueueNotAdmitted)
async def admission(
    user_id: CurrentUserId, room: Room, queue_token: QueueToken = None
) -> Admission:
    return await service.admission(room, queue_token, user_id)


# "Admitted to this concert": the request's queue token is this user's ACTIVE one; the service
# holds it against the concert of the seat, schedule or reservation the request is about.
Admitted = Annotated[Admission, Depends(admission)]


@answers(QueueTokenInvalid, QueueNotAdmitted)
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
