from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from boxoffice.api import AppSettings, Db, path_id, problems
from boxoffice.auth import CurrentUserId
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.queue.gate import QueueToken, Room
from boxoffice.queue.service import admitted_concert
from boxoffice.rate_limits import HoldRateLimit
from boxoffice.reservations import service
from boxoffice.reservations.schemas import HoldIn, ReservationOut

router = APIRouter(tags=["reservations"])

ReservationId = Annotated[int, path_id("Reservation id")]


@router.post(
    "/reservations",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 403, 404, 409, 429),
    dependencies=[HoldRateLimit],
)
async def hold_seat(
    body: HoldIn,
    user_id: CurrentUserId,
    db: Db,
    settings: AppSettings,
    room: Room,
    queue_token: QueueToken = None,
) -> ReservationOut:
    admitted_to = await admitted_concert(room, queue_token, user_id)
    return await service.hold(db, settings, user_id, body.seat_id, admitted_to)


@router.get("/reservations/{reservation_id}", responses=problems(401, 404))
async def get_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    return await service.get_reservation(db, user_id, reservation_id)


@router.post("/reservations/{reservation_id}/cancel", responses=problems(401, 404, 409))
async def cancel_reservation(
    reservation_id: ReservationId, user_id: CurrentUserId, db: Db
) -> ReservationOut:
    return await service.cancel(db, user_id, reservation_id)


@router.get("/users/me/reservations", responses=problems(401))
async def my_reservations(
    user_id: CurrentUserId, db: Db, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[ReservationOut]:
    return await service.list_reservations(db, user_id, page)
