from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status

from boxoffice.api import Db, path_id, problems
from boxoffice.auth import AdminOnly, CurrentUserId
from boxoffice.queue import service
from boxoffice.queue.gate import QueueToken, Room
from boxoffice.queue.schemas import LineOut, TicketOut
from boxoffice.rate_limits import JoinRateLimit

router = APIRouter(tags=["waiting room"])
admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminOnly])

ConcertId = Annotated[int, path_id("Concert id")]


@router.post(
    "/concerts/{concert_id}/queue/tokens",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": TicketOut, "description": "Your live token"},
        **problems(401, 404, 429),
    },
    dependencies=[JoinRateLimit],
)
async def join_line(
    concert_id: ConcertId, user_id: CurrentUserId, db: Db, room: Room, response: Response
) -> TicketOut:
    ticket, created = await service.join(db, room, concert_id, user_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ticket


@router.get("/queue/status", responses=problems(401, 403))
async def queue_status(
    user_id: CurrentUserId, room: Room, queue_token: QueueToken = None
) -> TicketOut:
    return await service.status(room, queue_token, user_id)


@router.delete(
    "/queue/status", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401, 403)
)
async def leave_line(user_id: CurrentUserId, room: Room, queue_token: QueueToken = None) -> None:
    await service.leave(room, queue_token, user_id)


@admin.get("/concerts/{concert_id}/queue", responses=problems(401, 404))
async def concert_line(concert_id: ConcertId, db: Db, room: Room) -> LineOut:
    return await service.line(db, room, concert_id)
