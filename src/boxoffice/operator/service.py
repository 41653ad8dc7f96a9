"""The operator's reads (blocking users is in `boxoffice.operator.blocking`)."""

from __future__ import annotations

from boxoffice.catalog import repository as catalog
from boxoffice.catalog.service import schedule_out
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.errors import ScheduleNotFound
from boxoffice.operator import repository
from boxoffice.operator.blocking import user_account
from boxoffice.operator.schemas import (
    ReservationWithUser,
    ScheduleReport,
    UserAccount,
    UserSummary,
)
from boxoffice.pagination import Page, PageRequest
from boxoffice.statuses import ReservationStatus


async def schedule_report(db: Database, schedule_id: int) -> ScheduleReport:
    now = utcnow()
    async with db.reading() as conn:
        found = await repository.schedule_with_counts(conn, schedule_id, now)
    if found is None:
        raise ScheduleNotFound(f"Schedule {schedule_id} does not exist.")
    schedule, counts = found
    return ScheduleReport(
        **schedule_out(schedule, now).model_dump(),
        sold=counts.sold,
        held=counts.held,
        free=schedule.total_seats - counts.sold - counts.held,
        revenue=int(counts.revenue),
    )


async def schedule_reservations(
    db: Database, schedule_id: int, status: ReservationStatus | None, page: PageRequest
) -> Page[ReservationWithUser]:
    async with db.reading() as conn:
        if await catalog.find_schedule(conn, schedule_id) is None:
            raise ScheduleNotFound(f"Schedule {schedule_id} does not exist.")
        rows = await repository.reservations_page(
            conn, schedule_id, status, page.after_id(), page.limit + 1, utcnow()
        )
    items = [
        ReservationWithUser.model_validate(
            {
                **row._mapping,
                "user": UserSummary(id=row.user_id, name=row.user_name, email=row.user_email),
            }
        )
        for row in rows
    ]
    return page.page(items, key=lambda r: [r.id])


async def find_users(db: Database, email: str | None, page: PageRequest) -> Page[UserAccount]:
    async with db.reading() as conn:
        rows = await repository.users_page(conn, email, page.after_id(), page.limit + 1)
    users = [user_account(row) for row in rows]
    return page.page(users, key=lambda u: [u.id])
