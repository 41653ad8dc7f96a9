from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from boxoffice.api import Db, path_id, problems
from boxoffice.auth import AdminOnly
from boxoffice.catalog import service
from boxoffice.catalog.schemas import (
    ConcertChange,
    ConcertIn,
    ConcertOut,
    ScheduleIn,
    ScheduleOut,
    SeatListing,
)
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.queue.gate import AdmittedForSchedule, Room
from boxoffice.statuses import SeatStatus

router = APIRouter(tags=["catalog"])
admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminOnly])

ConcertId = Annotated[int, path_id("Concert id")]
ScheduleId = Annotated[int, path_id("Schedule id")]
Pages = Annotated[PageRequest, Depends(page_request)]


@router.get("/concerts")
async def list_concerts(db: Db, page: Pages) -> Page[ConcertOut]:
    return await service.list_concerts(db, page)


@router.get("/concerts/{concert_id}", responses=problems(404))
async def get_concert(concert_id: ConcertId, db: Db) -> ConcertOut:
    return await service.get_concert(db, concert_id)


@router.get("/concerts/{concert_id}/schedules", responses=problems(404))
async def list_schedules(
    concert_id: ConcertId,
    db: Db,
    page: Pages,
    available: Annotated[
        bool, Query(description="Only schedules in the future with seats left")
    ] = False,
) -> Page[ScheduleOut]:
    return await service.list_schedules(db, concert_id, available, page)


@router.get("/schedules/{schedule_id}/seats", responses=problems(401, 403, 404))
async def list_seats(
    schedule_id: ScheduleId,
    db: Db,
    admission: AdmittedForSchedule,
    seat_status: Annotated[SeatStatus | None, Query(alias="status")] = None,
) -> SeatListing:
    return await service.list_seats(db, schedule_id, seat_status, admission)


@admin.post("/concerts", status_code=status.HTTP_201_CREATED, responses=problems(401))
async def create_concert(body: ConcertIn, db: Db) -> ConcertOut:
    return await service.create_concert(db, body.title, body.duration_minutes, body.sale_opens_at)


@admin.get("/concerts", responses=problems(401))
async def list_concerts_for_operator(db: Db, page: Pages) -> Page[ConcertOut]:
    return await service.list_concerts(db, page)


@admin.patch("/concerts/{concert_id}", responses=problems(401, 404, 409))
async def change_concert(
    concert_id: ConcertId, body: ConcertChange, db: Db, room: Room
) -> ConcertOut:
    return await service.change_concert(db, room, concert_id, body)


@admin.post(
    "/concerts/{concert_id}/schedules",
    status_code=status.HTTP_201_CREATED,
    responses=problems(401, 404),
)
async def create_schedule(concert_id: ConcertId, body: ScheduleIn, db: Db) -> ScheduleOut:
    return await service.create_schedule(db, concert_id, body.start_time, body.seat_list())
