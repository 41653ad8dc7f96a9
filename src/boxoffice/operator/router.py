from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from boxoffice.api import ONE_LINE, Db, path_id, problems
from boxoffice.auth import AdminOnly
from boxoffice.operator import blocking, service
from boxoffice.operator.schemas import ReservationWithUser, ScheduleReport, UserAccount
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.statuses import ReservationStatus

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminOnly])

ScheduleId = Annotated[int, path_id("Schedule id")]
UserId = Annotated[int, path_id("User id")]
Pages = Annotated[PageRequest, Depends(page_request)]


@router.get("/schedules/{schedule_id}", responses=problems(401, 404))
async def get_schedule(schedule_id: ScheduleId, db: Db) -> ScheduleReport:
    return await service.schedule_report(db, schedule_id)


@router.get("/schedules/{schedule_id}/reservations", responses=problems(401, 404))
async def list_schedule_reservations(
    schedule_id: ScheduleId,
    db: Db,
    page: Pages,
    status: Annotated[
        ReservationStatus | None,
        Query(description="Only reservations in this status (a lapsed hold is EXPIRED)"),
    ] = None,
) -> Page[ReservationWithUser]:
    return await service.schedule_reservations(db, schedule_id, status, page)


@router.get("/users", responses=problems(401))
async def find_users(
    db: Db,
    page: Pages,
    email: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=320,
            pattern=ONE_LINE,
            description="Part of the email, any case",
        ),
    ] = None,
) -> Page[UserAccount]:
    return await service.find_users(db, email, page)


@router.post("/users/{user_id}/block", responses=problems(401, 404))
async def block_user(user_id: UserId, db: Db) -> UserAccount:
    """Block the user: their live holds end at once, and from now on they cannot join a line,
    hold, pay or charge (403 USER_BLOCKED). Paid tickets stay theirs."""
    return await blocking.block(db, user_id)


@router.post("/users/{user_id}/unblock", responses=problems(401, 404))
async def unblock_user(user_id: UserId, db: Db) -> UserAccount:
    return await blocking.unblock(db, user_id)
