from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from boxoffice.api import Db, path_id
from boxoffice.auth import AdminOnly, CurrentUserId
from boxoffice.errors import ConcertNotFound, QueueTokenInvalid, UserBlocked, UserNotFound
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.queue import service
from boxoffice.queue.gate import QueueToken, Room
from boxoffice.queue.schemas import LineOut, TicketOut
from boxoffice.rate_limits import JoinRateLimit

router = APIRouter(tags=["waiting room"], route_class=DocumentedRoute)
admin = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[AdminOnly], route_class=DocumentedRoute
)

ConcertId = Annotated[int, path_id("Concert id")]


@router.post(
    "/concerts/{concert_id}/queue/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Join a concert's line",
    responses={200: {"model": TicketOut, "description": "Your live token, already in line"}},
    response_description="A new token, at the end of the line",
    dependencies=[JoinRateLimit],
)
@answers(ConcertNotFound, UserNotFound, UserBlocked)
async def join_line(
    concert_id: ConcertId, user_id: CurrentUserId, db: Db, room: Room, response: Response
) -> TicketOut:
    """A waiting-room token for the concert (201), or the live one the user already has (200):
    nobody holds two places in one line. Send it as X-Queue-Token."""
    ticket, created = await service.join(db, room, concert_id, user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ticket


@router.get("/queue/status", summary="Where I stand in line")
@answers(QueueTokenInvalid)
async def queue_status(
    user_id: CurrentUserId, room: Room, queue_token: QueueToken = None
) -> TicketOut:
    """The token's status, place in line and estimated wait. Asking keeps a waiting place:
    one nobody asks about for BOXOFFICE_QUEUE_IDLE_SECONDS is given up."""
    return await service.status(room, queue_token, user_id)


# A plain Response: an empty 204 says no content type (FastAPI's default JSON response class
# would label it application/json).
@router.delete(
    "/queue/status",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Leave the line",
)
@answers(QueueTokenInvalid)
async def leave_line(user_id: CurrentUserId, room: Room, queue_token: QueueToken = None) -> None:
    """Give up a waiting place or an admission; the next in line moves up."""
    await service.leave(room, queue_token, user_id)


@admin.get("/concerts/{concert_id}/queue", summary="A concert's line")
@answers(ConcertNotFound)
async def concert_line(concert_id: ConcertId, db: Db, room: Room) -> LineOut:
    """How many wait and how many are admitted, the admission rate and the longest wait."""
    return await service.line(db, room, concert_id)
