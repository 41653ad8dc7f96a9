"""Use cases for the catalog: concerts, schedules, seats."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from boxoffice import showtime
from boxoffice.catalog import repository
from boxoffice.catalog.schemas import (
    ConcertChange,
    ConcertOut,
    ConcertRow,
    ScheduleOut,
    SeatIn,
    SeatListing,
    SeatOut,
)
from boxoffice.clock import utcnow
from boxoffice.db import Database, Record
from boxoffice.errors import ConcertNotFound, ScheduleNotFound, StartNotInFuture
from boxoffice.pagination import Page, PageRequest
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission
from boxoffice.statuses import SeatStatus


def _concert_out(row: ConcertRow | Record) -> ConcertOut:
    duration: time = row.duration
    opens_at: datetime | None = row.sale_opens_at
    return ConcertOut(
        id=row.id,
        title=row.title,
        duration_minutes=duration.hour * 60 + duration.minute,
        sale_opens_at=opens_at if opens_at is not None and opens_at > utcnow() else None,
    )


def _duration(minutes: int) -> time:
    return time(hour=minutes // 60, minute=minutes % 60)


async def create_concert(
    db: Database, title: str, duration_minutes: int, sale_opens_at: datetime | None = None
) -> ConcertOut:
    async with db.transaction() as conn:
        row = await repository.insert_concert(
            conn, title, _duration(duration_minutes), sale_opens_at, utcnow()
        )
    return _concert_out(row)


async def change_concert(
    db: Database, room: WaitingRoom, concert_id: int, change: ConcertChange
) -> ConcertOut:
    """Change what the operator gave. A new sale opening reaches the concert's line first: the
    line refuses (SaleAlreadyOpen) to move an opening that has passed back into the future,
    and then the concert is left as it was."""
    await get_concert(db, concert_id)
    changes: dict[str, Any] = {}
    if "title" in change.model_fields_set:
        changes["title"] = change.title
    if change.duration_minutes is not None:
        changes["duration"] = _duration(change.duration_minutes)
    if "sale_opens_at" in change.model_fields_set:
        await room.reschedule(concert_id, change.sale_opens_at)
        changes["sale_opens_at"] = change.sale_opens_at
    async with db.transaction() as conn:
        row = await repository.update_concert(conn, concert_id, changes, utcnow())
    if row is None:
        raise ConcertNotFound(f"Concert {concert_id} does not exist.")
    return _concert_out(row)


async def get_concert(db: Database, concert_id: int) -> ConcertOut:
    row = await repository.read_concert(db, concert_id)
    if row is None:
        raise ConcertNotFound(f"Concert {concert_id} does not exist.")
    return _concert_out(row)


async def list_concerts(db: Database, page: PageRequest) -> Page[ConcertOut]:
    async with db.reading() as conn:
        rows = await repository.concerts_page(conn, page.after_id(), page.limit + 1)
    return page.page([_concert_out(row) for row in rows], key=lambda c: [c.id])


def schedule_out(row: Record, now: datetime) -> ScheduleOut:
    """A schedule row (with its `available_seats` and `cancelled_at`) as buyers see it now."""
    return ScheduleOut(
        id=row.id,
        concert_id=row.concert_id,
        start_time=row.start_time,
        total_seats=row.total_seats,
        available_seats=row.available_seats,
        status=showtime.status_at(row.start_time, row.cancelled_at, now),
    )


async def create_schedule(
    db: Database, concert_id: int, start_time: datetime, seats: list[SeatIn]
) -> ScheduleOut:
    """A schedule starts in the future: one in the past could only ever be CLOSED."""
    now = utcnow()
    if start_time <= now:
        raise StartNotInFuture(
            f"A schedule must start in the future; it is now {now:%Y-%m-%dT%H:%M:%SZ}."
        )
    async with db.unit_of_work() as work:
        if await repository.find_concert(work.conn, concert_id) is None:
            raise ConcertNotFound(f"Concert {concert_id} does not exist.")
        row = await repository.insert_schedule(work.conn, concert_id, start_time, seats, now)
        await work.commit()
    return schedule_out(row, now)


async def list_schedules(
    db: Database, concert_id: int, only_available: bool, page: PageRequest
) -> Page[ScheduleOut]:
    now = utcnow()
    async with db.reading() as conn:
        if await repository.find_concert(conn, concert_id) is None:
            raise ConcertNotFound(f"Concert {concert_id} does not exist.")
        rows = await repository.schedules_page(
            conn,
            concert_id,
            now if only_available else None,
            page.after_time_and_id(),
            page.limit + 1,
        )
    schedules = [schedule_out(row, now) for row in rows]
    return page.page(schedules, key=lambda s: [s.start_time.isoformat(), s.id])


async def get_schedule(db: Database, schedule_id: int) -> ScheduleOut:
    async with db.reading() as conn:
        row = await repository.find_schedule(conn, schedule_id)
    if row is None:
        raise ScheduleNotFound(f"Schedule {schedule_id} does not exist.")
    return schedule_out(row, utcnow())


async def list_seats(
    db: Database, schedule_id: int, status: SeatStatus | None, admission: Admission
) -> SeatListing:
    async with db.reading() as conn:
        schedule = await repository.find_schedule(conn, schedule_id)
        if schedule is None:
            raise ScheduleNotFound(f"Schedule {schedule_id} does not exist.")
        admission.require(schedule.concert_id)
        rows = await repository.seats_of(conn, schedule_id, utcnow(), status)
    return SeatListing(
        schedule_id=schedule_id,
        items=[SeatOut.model_validate(row, from_attributes=True) for row in rows],
    )
