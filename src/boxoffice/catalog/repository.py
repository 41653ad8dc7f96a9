"""Queries on concerts, schedules and seats."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.catalog.schemas import ConcertRow, SeatIn
from boxoffice.db import Database, Record
from boxoffice.liveness import seat_is_taken
from boxoffice.pg_driver import HotStatement
from boxoffice.showtime import is_on_sale
from boxoffice.statuses import SeatStatus
from boxoffice.tables import concert, concert_schedule, seat, seat_count_delta

_pending_delta = (
    select(func.coalesce(func.sum(seat_count_delta.c.delta), 0))
    .where(seat_count_delta.c.schedule_id == concert_schedule.c.id)
    .scalar_subquery()
)
# The counter plus the holds and releases not yet folded into it: the AVAILABLE seat rows as of
# the reading statement.
available_seats = (concert_schedule.c.available_seats + _pending_delta).label("available_seats")

_schedule_columns = (
    concert_schedule.c.id,
    concert_schedule.c.concert_id,
    concert_schedule.c.start_time,
    concert_schedule.c.total_seats,
    available_seats,
    concert_schedule.c.cancelled_at,
)


async def insert_concert(
    conn: AsyncConnection, title: str, duration: time, sale_opens_at: datetime | None, now: datetime
) -> Record:
    row: Record = (
        await conn.execute(
            insert(concert)
            .values(
                title=title,
                duration=duration,
                sale_opens_at=sale_opens_at,
                created_at=now,
                updated_at=now,
            )
            .returning(concert)
        )
    ).one()
    return row


async def update_concert(
    conn: AsyncConnection, concert_id: int, changes: dict[str, Any], now: datetime
) -> Record | None:
    row: Record | None = (
        await conn.execute(
            update(concert)
            .where(concert.c.id == concert_id)
            .values(**changes, updated_at=now)
            .returning(concert)
        )
    ).first()
    return row


async def find_concert(conn: AsyncConnection, concert_id: int) -> Record | None:
    return (await conn.execute(select(concert).where(concert.c.id == concert_id))).first()


# The concert page is the read every fan repeats through a drop.
_CONCERT = HotStatement(
    select(concert.c.id, concert.c.title, concert.c.duration, concert.c.sale_opens_at).where(
        concert.c.id == bindparam("concert_id")
    )
)


async def read_concert(db: Database, concert_id: int) -> ConcertRow | None:
    """The concert on its own: one statement, outside any transaction."""
    row = await db.read_one(_CONCERT, concert_id=concert_id)
    return None if row is None else ConcertRow(**row)


async def concerts_page(conn: AsyncConnection, after_id: int | None, limit: int) -> list[Record]:
    query = select(concert)
    if after_id is not None:
        query = query.where(concert.c.id > after_id)
    return list((await conn.execute(query.order_by(concert.c.id).limit(limit))).all())


async def insert_schedule(
    conn: AsyncConnection, concert_id: int, start_time: datetime, seats: list[SeatIn], now: datetime
) -> Record:
    schedule: Record = (
        await conn.execute(
            insert(concert_schedule)
            .values(
                concert_id=concert_id,
                start_time=start_time,
                total_seats=len(seats),
                available_seats=len(seats),
                created_at=now,
                updated_at=now,
            )
            .returning(concert_schedule)
        )
    ).one()
    await conn.execute(
        insert(seat),
        [
            {
                "schedule_id": schedule.id,
                "seat_number": s.seat_number,
                "price": s.price,
                "status": SeatStatus.AVAILABLE,
                "created_at": now,
                "updated_at": now,
            }
            for s in seats
        ],
    )
    return schedule


async def schedules_page(
    conn: AsyncConnection,
    concert_id: int,
    only_on_sale_at: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Record]:
    """With `only_on_sale_at`, only the schedules on sale at that moment with seats left."""
    query = select(*_schedule_columns).where(concert_schedule.c.concert_id == concert_id)
    if only_on_sale_at is not None:
        query = query.where(
            is_on_sale(only_on_sale_at),
            concert_schedule.c.available_seats + _pending_delta > 0,
        )
    if after is not None:
        query = query.where(
            or_(
                concert_schedule.c.start_time > after[0],
                and_(concert_schedule.c.start_time == after[0], concert_schedule.c.id > after[1]),
            )
        )
    query = query.order_by(concert_schedule.c.start_time, concert_schedule.c.id).limit(limit)
    return list((await conn.execute(query)).all())


async def find_schedule(conn: AsyncConnection, schedule_id: int) -> Record | None:
    return (
        await conn.execute(select(*_schedule_columns).where(concert_schedule.c.id == schedule_id))
    ).first()


async def seats_of(
    conn: AsyncConnection, schedule_id: int, now: datetime, status: SeatStatus | None
) -> list[Record]:
    shown_status = case(
        (seat_is_taken(now), SeatStatus.UNAVAILABLE.value), else_=SeatStatus.AVAILABLE.value
    ).label("status")
    query = select(seat.c.id, seat.c.seat_number, seat.c.price, shown_status).where(
        seat.c.schedule_id == schedule_id
    )
    if status == SeatStatus.AVAILABLE:
        query = query.where(~seat_is_taken(now))
    elif status == SeatStatus.UNAVAILABLE:
        query = query.where(seat_is_taken(now))
    return list((await conn.execute(query.order_by(seat.c.id))).all())
