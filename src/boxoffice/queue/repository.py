"""SQL of the waiting room: the checks a join makes, and the database-backed line. Lock order:
the line row, then its tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Database, Record, for_update, skip_locked
from boxoffice.statuses import TicketStatus
from boxoffice.tables import concert, queue_line, queue_ticket, users

LIVE = (TicketStatus.WAITING, TicketStatus.ACTIVE)


_JOIN_CHECK = select(
    exists().where(concert.c.id == bindparam("concert_id")),
    exists().where(users.c.id == bindparam("user_id")),
    select(users.c.blocked_at).where(users.c.id == bindparam("user_id")).scalar_subquery(),
    select(concert.c.sale_opens_at)
    .where(concert.c.id == bindparam("concert_id"))
    .scalar_subquery(),
)


async def concert_exists(conn: AsyncConnection, concert_id: int) -> bool:
    query = select(exists().where(concert.c.id == concert_id))
    return bool((await conn.execute(query)).scalar_one())


@dataclass(frozen=True)
class JoinCheck:
    concert_found: bool
    user_found: bool
    user_blocked_at: datetime | None
    sale_opens_at: datetime | None


async def check_join(conn: AsyncConnection, concert_id: int, user_id: int) -> JoinCheck:
    """Everything a join needs to know in one round trip (in a rush, joins are most of the
    traffic): whether the concert and the user exist, whether the user is blocked, and when
    the sale opens."""
    params = {"concert_id": concert_id, "user_id": user_id}
    concert_found, user_found, blocked_at, opens_at = (
        await conn.execute(_JOIN_CHECK, params)
    ).one()
    return JoinCheck(bool(concert_found), bool(user_found), _aware(blocked_at), _aware(opens_at))


def _aware(moment: datetime | str | None) -> datetime | None:
    """A scalar subquery loses the column's type on SQLite: parse what comes back."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
    # Set until the line opens; cleared at the opening.
    opens_at: datetime | None


async def lock_line(
    db: Database, conn: AsyncConnection, concert_id: int, opens_at: datetime | None
) -> Line:
    """The concert's line row, locked for this transaction; created on first use with the
    sale opening given (a line that exists keeps its own)."""
    await conn.execute(
        db.insert_ignoring_conflicts(queue_line).values(
            concert_id=concert_id,
            next_seq=0,
            active_count=0,
            waiting_count=0,
            rate_window_count=0,
            opens_at=opens_at,
        )
    )
    line = await lock_existing_line(conn, concert_id)
    assert line is not None
    return line


async def lock_existing_line(conn: AsyncConnection, concert_id: int) -> Line | None:
    query = select(queue_line).where(queue_line.c.concert_id == concert_id)
    row = (await conn.execute(for_update(query))).first()
    return None if row is None else Line(**row._asdict())


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


async def lines_to_settle(
    conn: AsyncConnection, max_active: int, now: datetime, idle_before: datetime
) -> list[int]:
    """Lines with someone to admit into a free place (once open), with an admission whose
    time is up, or with a waiting place nobody asked about since `idle_before`."""
    overdue = (
        select(queue_ticket.c.token)
        .where(
            queue_ticket.c.concert_id == queue_line.c.concert_id,
            queue_ticket.c.status == TicketStatus.ACTIVE,
            queue_ticket.c.active_until <= now,
        )
        .exists()
    )
    idle = (
        select(queue_ticket.c.token)
        .where(
            queue_ticket.c.concert_id == queue_line.c.concert_id,
            queue_ticket.c.status == TicketStatus.WAITING,
            queue_ticket.c.seen_at < idle_before,
        )
        .exists()
    )
    room_to_admit = and_(
        queue_line.c.waiting_count > 0,
        queue_line.c.active_count < max_active,
        or_(queue_line.c.opens_at.is_(None), queue_line.c.opens_at <= now),
    )
    query = select(queue_line.c.concert_id).where(room_to_admit | overdue | idle)
    return list((await conn.execute(query)).scalars())


async def occupied_lines(conn: AsyncConnection, limit: int) -> list[int]:
    """The concerts whose line rows count the most people waiting or admitted, at most
    `limit`. The row's counts may include places not yet given up (idle, or past their time):
    the caller reads the live figures of each."""
    people = queue_line.c.waiting_count + queue_line.c.active_count
    query = (
        select(queue_line.c.concert_id)
        .where(people > 0)
        .order_by(people.desc(), queue_line.c.concert_id)
        .limit(limit)
    )
    return list((await conn.execute(query)).scalars())


async def live_ticket_of(conn: AsyncConnection, concert_id: int, user_id: int) -> Record | None:
    query = select(queue_ticket).where(
        queue_ticket.c.concert_id == concert_id,
        queue_ticket.c.user_id == user_id,
        queue_ticket.c.status.in_(LIVE),
    )
    row: Record | None = (await conn.execute(query)).first()
    return row


async def blocked_at(conn: AsyncConnection, user_id: int) -> datetime | None:
    """When the operator blocked the user (None: not blocked, or no such user)."""
    moment: datetime | None = (
        await conn.execute(select(users.c.blocked_at).where(users.c.id == user_id))
    ).scalar()
    return moment


async def concerts_with_live_ticket(conn: AsyncConnection, user_id: int) -> list[int]:
    query = (
        select(queue_ticket.c.concert_id)
        .where(queue_ticket.c.user_id == user_id, queue_ticket.c.status.in_(LIVE))
        .distinct()
    )
    return list((await conn.execute(query)).scalars())


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
        .values(status=TicketStatus.EXPIRED, expired_at=now)
    )


async def expire_overdue(conn: AsyncConnection, concert_id: int, now: datetime) -> int:
    """Admissions whose time is up become EXPIRED as of the moment they ran out."""
    result = await conn.execute(
        update(queue_ticket)
        .where(
            queue_ticket.c.concert_id == concert_id,
            queue_ticket.c.status == TicketStatus.ACTIVE,
            queue_ticket.c.active_until <= now,
        )
        .values(status=TicketStatus.EXPIRED, expired_at=queue_ticket.c.active_until)
    )
    return int(result.rowcount)


async def expire_idle(
    conn: AsyncConnection, concert_id: int, idle_before: datetime, now: datetime
) -> int:
    """Waiting places nobody asked about since `idle_before` are given up."""
    result = await conn.execute(
        update(queue_ticket)
        .where(
            queue_ticket.c.concert_id == concert_id,
            queue_ticket.c.status == TicketStatus.WAITING,
            queue_ticket.c.seen_at < idle_before,
        )
        .values(status=TicketStatus.EXPIRED, expired_at=now)
    )
    return int(result.rowcount)


async def admit_head(
    conn: AsyncConnection,
    concert_id: int,
    count: int,
    active_until: datetime,
    idle_before: datetime,
) -> int:
    """Admit the first `count` waiting in line order, passing over places left idle (the next
    sweep gives them up)."""
    head = (
        select(queue_ticket.c.token)
        .where(
            queue_ticket.c.concert_id == concert_id,
            queue_ticket.c.status == TicketStatus.WAITING,
            queue_ticket.c.seen_at >= idle_before,
        )
        .order_by(queue_ticket.c.seq)
        .limit(count)
        .scalar_subquery()
    )
    result = await conn.execute(
        update(queue_ticket)
        .where(queue_ticket.c.token.in_(head))
        .values(status=TicketStatus.ACTIVE, active_until=active_until)
    )
    return int(result.rowcount)


def _of_line(column: Any) -> Any:
    """One figure of the ticket's line, as a scalar subquery: an UPDATE's RETURNING cannot
    name a joined table on SQLite."""
    sql = (
        f"(SELECT queue_line.{column.name} FROM queue_line"
        " WHERE queue_line.concert_id = queue_ticket.concert_id)"
    )
    return literal_column(sql, column.type).label(column.name)


# The 1-based place while waiting, counted over the partial index of waiting tickets. Written
# out because SQLAlchemy drops the table names inside a RETURNING clause on SQLite, which would
# make the subquery count the wrong rows; the status written as a literal (not a parameter) is
# what lets SQLite match the partial index.
_POSITION = literal_column(
    f"CASE WHEN queue_ticket.status = '{TicketStatus.WAITING}' THEN"
    " (SELECT count(*) FROM queue_ticket AS ahead"
    f" WHERE ahead.concert_id = queue_ticket.concert_id AND ahead.status = '{TicketStatus.WAITING}'"
    " AND ahead.seq <= queue_ticket.seq) END",
    Integer(),
).label("position")


def _status_columns() -> list[Any]:
    """The ticket, its 1-based place while waiting, and its line's figures."""
    return [
        *queue_ticket.c,
        _POSITION,
        _of_line(queue_line.c.rate_window_start),
        _of_line(queue_line.c.rate_window_count),
        _of_line(queue_line.c.rate_per_second),
        _of_line(queue_line.c.opens_at),
    ]


def status_query(token: str, seen_now: datetime | None, idle_before: datetime) -> Any:
    """The one statement of a status request. With `seen_now` it also records that someone
    asked (an UPDATE .. RETURNING): a place already left idle past `idle_before` is not
    brought back."""
    if seen_now is None:
        return select(*_status_columns()).where(queue_ticket.c.token == token)
    still_fresh = queue_ticket.c.seen_at >= idle_before
    return (
        update(queue_ticket)
        .where(queue_ticket.c.token == token)
        .values(seen_at=case((still_fresh, seen_now), else_=queue_ticket.c.seen_at))
        .returning(*_status_columns())
    )


async def ticket_status(
    conn: AsyncConnection, token: str, seen_now: datetime | None, idle_before: datetime
) -> Record | None:
    row: Record | None = (await conn.execute(status_query(token, seen_now, idle_before))).first()
    return row


_LINE_FIGURES = select(
    func.sum(case((queue_ticket.c.status == TicketStatus.WAITING, 1), else_=0)),
    func.sum(case((queue_ticket.c.status == TicketStatus.ACTIVE, 1), else_=0)),
    func.min(
        case((queue_ticket.c.status == TicketStatus.WAITING, queue_ticket.c.created_at), else_=None)
    ),
)


async def line_figures(
    conn: AsyncConnection, concert_id: int, now: datetime, idle_before: datetime
) -> tuple[int, int, datetime | None, Line | None]:
    """Live waiting and active counts, the earliest arrival still waiting, and the line row."""
    live = or_(
        and_(queue_ticket.c.status == TicketStatus.WAITING, queue_ticket.c.seen_at >= idle_before),
        and_(queue_ticket.c.status == TicketStatus.ACTIVE, queue_ticket.c.active_until > now),
    )
    waiting, active, oldest = (
        await conn.execute(_LINE_FIGURES.where(queue_ticket.c.concert_id == concert_id, live))
    ).one()
    row = (
        await conn.execute(select(queue_line).where(queue_line.c.concert_id == concert_id))
    ).first()
    line = None if row is None else Line(**row._asdict())
    return int(waiting or 0), int(active or 0), _aware(oldest), line


async def forget_expired(conn: AsyncConnection, before: datetime, batch: int) -> int:
    """Delete tickets that expired before `before`, a batch at a time, oldest first."""
    oldest = (
        select(queue_ticket.c.token)
        .where(
            and_(queue_ticket.c.status == TicketStatus.EXPIRED, queue_ticket.c.expired_at < before)
        )
        .order_by(queue_ticket.c.expired_at)
        .limit(batch)
        .scalar_subquery()
    )
    result = await conn.execute(delete(queue_ticket).where(queue_ticket.c.token.in_(oldest)))
    return int(result.rowcount)
