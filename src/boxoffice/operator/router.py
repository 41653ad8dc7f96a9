from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from boxoffice.api import ONE_LINE, AppSettings, Db, path_id
from boxoffice.auth import AdminOnly
from boxoffice.booking import show_cancellation
from boxoffice.catalog.schemas import ScheduleOut
from boxoffice.errors import ScheduleNotFound, UserNotFound
from boxoffice.operator import blocking, service
from boxoffice.operator.schemas import ReservationWithUser, ScheduleReport, UserAccount
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.queue.gate import Room
from boxoffice.statuses import ReservationStatus

router = APIRouter(
    prefix="/admin", tags=["admin"], dependencies=[AdminOnly], route_class=DocumentedRoute
)

ScheduleId = Annotated[int, path_id("Schedule id")]
UserId = Annotated[int, path_id("User id")]
Pages = Annotated[PageRequest, Depends(page_request)]


@router.get("/schedules/{schedule_id}", summary="A schedule's sales")
@answers(ScheduleNotFound)
async def get_schedule(schedule_id: ScheduleId, db: Db) -> ScheduleReport:
    """The schedule with its exact counts: seats sold, held and free, and the revenue."""
    return await service.schedule_report(db, schedule_id)


@router.post("/schedules/{schedule_id}/cancel", summary="Cancel a schedule")
@answers(ScheduleNotFound)
async def cancel_schedule(schedule_id: ScheduleId, db: Db, settings: AppSettings) -> ScheduleOut:
    """Stop selling the schedule at once, end its live holds and refund every confirmed booking
    in full (REFUND entries, payments CANCELLED). Safe to send again and from two processes at
    once: a cancel cut short is finished, and nothing is refunded twice."""
    return await show_cancellation.cancel_schedule(db, schedule_id, settings.cancel_batch_size)


@router.get("/schedules/{schedule_id}/reservations", summary="A schedule's reservations")
@answers(ScheduleNotFound)
async def list_schedule_reservations(
    schedule_id: ScheduleId,
    db: Db,
    page: Pages,
    status: Annotated[
        ReservationStatus | None,
        Query(description="Only reservations in this status (a lapsed hold is EXPIRED)"),
    ] = None,
) -> Page[ReservationWithUser]:
    """The schedule's reservations with their users, newest first; `status` filters."""
    return await service.schedule_reservations(db, schedule_id, status, page)


@router.get("/users", summary="Find users")
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
    """Users whose email contains `email` (any case), or every user, oldest first."""
    return await service.find_users(db, email, page)


@router.post("/users/{user_id}/block", summary="Block a user")
@answers(UserNotFound)
async def block_user(user_id: UserId, db: Db, room: Room) -> UserAccount:
    """Block the user: their live holds end at once, their places in line go to those behind
    them, and from now on they cannot join a line, hold, pay or charge (403 USER_BLOCKED).
    Paid tickets stay theirs."""
    return await blocking.block(db, room, user_id)


@router.post("/users/{user_id}/unblock", summary="Unblock a user")
@answers(UserNotFound)
async def unblock_user(user_id: UserId, db: Db) -> UserAccount:
    """Let a blocked user join lines, hold, pay and charge again."""
    return await blocking.unblock(db, user_id)
