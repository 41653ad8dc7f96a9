"""SQL of the waiting room: the checks a join makes, and the database-backed line. Lock order:
the line row, then its tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Database, Record, for_update, skip_locked
from boxoffice.tables import concert, queue_line, queue_ticket, users

LIVE = ("WAITING", "ACTIVE")


_CONCERT_AND_USER_EXIST = select(
    exists().where(concert.c.id == bindparam("concert_id")),
    exists().where(users.c.id == bindparam("user_id")),
)


async def concert_and_user_exist(
    conn: AsyncConnection, concert_id: int, user_id: int
) -> tuple[bool, bool]:
    """Both checks of a join in one round trip: in a rush, joins are most of the traffic."""
    params = {"concert_id": concert_id, "user_id": user_id}
    concert_found, user_found = (await conn.execute(_CONCERT_AND_USER_EXIST, params)).one()
    return bool(concert_found), bool(user_found)


@dataclass
class Line:
    """A line's bookkeeping row, changed in memory and written back once per transaction."""

    concert_id: int
    next_seq: int
    active_count: int
    waiting_count: int
    rate_window_start: datetime | None
    rate_window_count: int
    rate_per_second: float | None


async def lock_line(db: Database, conn: AsyncConnection, concert_id: int) -> Line:
    """The concert's line row, created on first use and locked for this transaction."""
    await conn.execute(
        db.insert_ignoring_conflicts(queue_line).values(
            concert_id=concert_id,
            next_seq=0,
            active_count=0,
            waiting_count=0,
            rate_window_count=0,
        )
    )
    query = select(queue_line).where(queue_line.c.concert_id == concert_id)
    row = (await conn.execute(for_update(query))).one()
    return Line(**row._asdict())


async def try_lock_line(conn: AsyncConnection, concert_id: int) -> Line | None:
    """The line row locked, unless another process is working on it right now."""
    query = select(queue_line).where(queue_line.c.concert_id == concert_id)
    row = (await conn.execute(skip_locked(query))).first()
    return None if row is None else Line(**row._asdict())


async def save_line(conn: AsyncConnection, line: Line) -> None:
    values = {k: v for k, v in line.__dict__.items() if k != "concert_id"}
    await conn.execute(
        update(queue_line).where(queue_line.c.concert_id == line.concert_id).values(**values)
    )


async def lines_to_settle(conn: AsyncConnection, max_active: int, now: datetime) -> list[int]:
    """Lines with someone to admit into a free place, or with an admission whose time is up."""
    overdue = (
        select(queue_ticket.c.token)
        .where(
            queue_ticket.c.concert_id == queue_line.c.concert_id,
            queue_ticket.c.status == "ACTIVE",
            queue_ticket.c.active_until <= now,
        )
        .exists()
    )
    room_to_admit = and_(queue_line.c.waiting_count > 0, queue_line.c.active_count < max_active)
    query = select(queue_line.c.concert_id).where(room_to_admit | overdue)
    return list((await conn.execute(query)).scalars())


async def live_ticket_of(conn: AsyncConnection, concert_id: int, user_id: int) -> Record | None:
    query = select(queue_ticket).where(
        queue_ticket.c.concert_id == concert_id,
        queue_ticket.c.user_id == user_id,
        queue_ticket.c.status.in_(LIVE),
    )
    row: Record | None = (await conn.execute(query)).first()
    return row


async def find_ticket(conn: AsyncConnection, token: str) -> Record | None:
    row: Record | None = (
        await conn.execute(select(queue_ticket).where(queue_ticket.c.token == token))
    ).first()
    return row


async def insert_ticket(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(queue_ticket.insert().values(**values))


async def expire_ticket(conn: AsyncConnection, token: str, now: datetime) -> None:
    await conn.execute(
        update(queue_ticket)
        .where(queue_ticket.c.token == token)
        .values(status="EXPIRED", expired_at=now)
    )


async def expire_overdue(conn: AsyncConnection, concert_id: int, now: datetime) -> int:
    """Admissions whose time is up become EXPIRED as of the moment they ran out."""
    result = await conn.execute(
        update(queue_ticket)
        .where(
            queue_ticket.c.concert_id == concert_id,
            queue_ticket.c.status == "ACTIVE",
            queue_ticket.c.active_until <= now,
        )
        .values(status="EXPIRED", expired_at=queue_ticket.c.active_until)
    )
    return int(result.rowcount)


async def admit_head(
    conn: AsyncConnection, concert_id: int, count: int, active_until: datetime
) -> int:
    """Admit the first `count` waiting, in arrival order."""
    head = (
        select(queue_ticket.c.token)
        .where(queue_ticket.c.concert_id == concert_id, queue_ticket.c.status == "WAITING")
        .order_by(queue_ticket.c.seq)
        .limit(count)
        .scalar_subquery()
    )
    result = await conn.execute(
        update(queue_ticket)
        .where(queue_ticket.c.token.in_(head))
        .values(status="ACTIVE", active_until=active_until)
    )
    return int(result.rowcount)


async def ticket_with_position(conn: AsyncConnection, token: str) -> Record | None:
    """The ticket, its line's rate figures, and (while waiting) its 1-based place: one
    statement whose count runs over the partial index of waiting tickets."""
    ahead = queue_ticket.alias("ahead")
    place = (
        select(func.count())
        .where(
            ahead.c.concert_id == queue_ticket.c.concert_id,
            ahead.c.status == "WAITING",
            ahead.c.seq <= queue_ticket.c.seq,
        )
        .scalar_subquery()
    )
    query = (
        select(
            queue_ticket,
            case((queue_ticket.c.status == "WAITING", place), else_=None).label("position"),
            queue_line.c.rate_window_start,
            queue_line.c.rate_window_count,
            queue_line.c.rate_per_second,
        )
        .join(queue_line, queue_line.c.concert_id == queue_ticket.c.concert_id)
        .where(queue_ticket.c.token == token)
    )
    row: Record | None = (await conn.execute(query)).first()
    return row


async def forget_expired(conn: AsyncConnection, before: datetime, batch: int) -> int:
    """Delete tickets that expired before `before`, a batch at a time, oldest first."""
    oldest = (
        select(queue_ticket.c.token)
        .where(and_(queue_ticket.c.status == "EXPIRED", queue_ticket.c.expired_at < before))
        .order_by(queue_ticket.c.expired_at)
        .limit(batch)
        .scalar_subquery()
    )
    result = await conn.execute(delete(queue_ticket).where(queue_ticket.c.token.in_(oldest)))
    return int(result.rowcount)
