from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from boxoffice.api import Db, path_id
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
from boxoffice.errors import ConcertNotFound, SaleAlreadyOpen, ScheduleNotFound
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.queue.gate import AdmittedForSchedule, Room
from boxoffice.statuses import SeatStatus

router = APIRouter(tags=["catalog"], route_class=DocumentedRoute)
admin = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[AdminOnly], route_class=DocumentedRoute
)

ConcertId = Annotated[int, path_id("Concert id")]
ScheduleId = Annotated[int, path_id("Schedule id")]
Pages = Annotated[PageRequest, Depends(page_request)]


@router.get("/concerts", summary="Concerts")
async def list_concerts(db: Db, page: Pages) -> Page[ConcertOut]:
    """Every concert, oldest first. Public."""
    return await service.list_concerts(db, page)


@router.get("/concerts/{concert_id}", summary="A concert")
@answers(ConcertNotFound)
async def get_concert(concert_id: ConcertId, db: Db) -> ConcertOut:
    """One concert, with its sale opening if it is still ahead. Public."""
    return await service.get_concert(db, concert_id)


@router.get("/concerts/{concert_id}/schedules", summary="A concert's schedules")
@answers(ConcertNotFound)
async def list_schedules(
    concert_id: ConcertId,
    db: Db,
    page: Pages,
    available: Annotated[
        bool, Query(description="Only schedules in the future with seats left")
    ] = False,
) -> Page[ScheduleOut]:
    """The concert's dates by start time, with their seats left; `available=true` keeps the
    future ones with seats left. Public."""
    return await service.list_schedules(db, concert_id, available, page)


@router.get("/schedules/{schedule_id}", summary="A schedule")
@answers(ScheduleNotFound)
async def read_schedule(schedule_id: ScheduleId, db: Db) -> ScheduleOut:
    """One date of a concert, with its seats left and its status: ON_SALE until it starts,
    CLOSED from then on, CANCELLED once the operator cancelled it. Public."""
    return await service.get_schedule(db, schedule_id)


@router.get("/schedules/{schedule_id}/seats", summary="A schedule's seats")
@answers(ScheduleNotFound)
async def list_seats(
    schedule_id: ScheduleId,
    db: Db,
    admission: AdmittedForSchedule,
    seat_status: Annotated[SeatStatus | None, Query(alias="status")] = None,
) -> SeatListing:
    """Every seat of the schedule with its price and whether it can be held, by seat number.
    Needs an ACTIVE queue token for the schedule's concert."""
    return await service.list_seats(db, schedule_id, seat_status, admission)


@admin.post("/concerts", status_code=status.HTTP_201_CREATED, summary="Add a concert")
async def create_concert(body: ConcertIn, db: Db) -> ConcertOut:
    """A new concert, optionally with the moment its sale opens; schedules are added to it
    next."""
    return await service.create_concert(db, body.title, body.duration_minutes, body.sale_opens_at)


@admin.get("/concerts", summary="Concerts, for the operator")
async def list_concerts_for_operator(db: Db, page: Pages) -> Page[ConcertOut]:
    """Every concert with its sale opening, oldest first."""
    return await service.list_concerts(db, page)


@admin.patch("/concerts/{concert_id}", summary="Change a concert")
@answers(ConcertNotFound, SaleAlreadyOpen)
async def change_concert(
    concert_id: ConcertId, body: ConcertChange, db: Db, room: Room
) -> ConcertOut:
    """Change any of a concert's title, duration and sale opening; `sale_opens_at: null`
    opens the sale now. An opening that has passed cannot be moved back into the future."""
    return await service.change_concert(db, room, concert_id, body)


@admin.post(
    "/concerts/{concert_id}/schedules",
    status_code=status.HTTP_201_CREATED,
    summary="Add a schedule",
)
@answers(ConcertNotFound)
async def create_schedule(concert_id: ConcertId, body: ScheduleIn, db: Db) -> ScheduleOut:
    """A new date of the concert, in the future, with its seats: listed one by one, or
    `seat_count` seats numbered "1" to "N" at one `price`."""
    return await service.create_schedule(db, concert_id, body.start_time, body.seat_list())
