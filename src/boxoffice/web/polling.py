"""Small JSON answers the pages' script polls when a live stream cannot be opened (an old
browser, a proxy that buffers event streams): the same facts as the streams, on request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import JSONResponse

from boxoffice.api import MAX_ID, Db
from boxoffice.catalog import service as catalog
from boxoffice.errors import DomainError
from boxoffice.queue import service as queue
from boxoffice.queue.gate import Room
from boxoffice.web import line, session

router = APIRouter(include_in_schema=False)

ConcertId = Annotated[int, Path(ge=1, le=MAX_ID)]
ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _refused(error: DomainError | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": error.code if error else "UNAUTHENTICATED"}
    return JSONResponse(body, status_code=error.status if error else 401)


@router.get("/concerts/{concert_id}/wait/status")
async def line_status(request: Request, concert_id: ConcertId, room: Room) -> JSONResponse:
    user_id = session.session_user(request)
    if user_id is None:
        return _refused()
    try:
        ticket = await queue.status(room, line.token_for(request, concert_id), user_id)
    except DomainError as error:
        return _refused(error)
    return JSONResponse(ticket.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/concerts/{concert_id}/seats/{schedule_id}/state")
async def seat_state(
    request: Request, concert_id: ConcertId, schedule_id: ScheduleId, db: Db, room: Room
) -> JSONResponse:
    user_id = session.session_user(request)
    if user_id is None:
        return _refused()
    try:
        schedule = await catalog.get_schedule(db, schedule_id)
        token = line.token_for(request, concert_id)
        admission = await queue.require_admission(db, room, token, user_id, schedule.concert_id)
        listing = await catalog.list_seats(db, schedule_id, None, admission)
    except DomainError as error:
        return _refused(error)
    return JSONResponse(listing.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
