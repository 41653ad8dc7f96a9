"""Operator queries: a schedule's counts, its reservations with their users, users by email,
and blocking users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.catalog.repository import find_schedule
from boxoffice.db import Record
from boxoffice.liveness import shown_status
from boxoffice.statuses import SEAT_OCCUPYING, PaymentStatus, ReservationStatus
from boxoffice.tables import UTCDateTime, payment, reservation, seat, users


async def schedule_with_counts(
    conn: AsyncConnection, schedule_id: int, now: datetime
) -> tuple[Record, Record] | None:
    """The schedule and its sold / held counts and revenue. One statement reads the counts, so
    they are one consistent snapshot."""
    schedule = await find_schedule(conn, schedule_id)
    if schedule is None:
        return None
    status = shown_status(now)
    sold = func.count().filter(status == ReservationStatus.CONFIRMED)
    held = func.count().filter(status == ReservationStatus.TEMPORARY)
    revenue = (
        select(func.coalesce(func.sum(payment.c.amount), 0))
        .join(reservation, reservation.c.id == payment.c.reservation_id)
        .where(reservation.c.schedule_id == schedule_id, payment.c.status == PaymentStatus.SUCCESS)
        .scalar_subquery()
    )
    counts: Record = (
        await conn.execute(
            select(sold.label("sold"), held.label("held"), revenue.label("revenue")).where(
                reservation.c.schedule_id == schedule_id,
                reservation.c.status.in_(SEAT_OCCUPYING),
            )
        )
    ).one()
    return schedule, counts


async def reservations_page(
    conn: AsyncConnection,
    schedule_id: int,
    status: str | None,
    after_id: int | None,
    limit: int,
    now: datetime,
) -> list[Record]:
    shown = shown_status(now)
    query = (
        select(
            reservation.c.id,
            reservation.c.user_id,
            reservation.c.schedule_id,
            reservation.c.seat_id,
            seat.c.seat_number,
            reservation.c.amount,
            shown.label("status"),
            reservation.c.expires_at,
            reservation.c.created_at,
            users.c.name.label("user_name"),
            users.c.email.label("user_email"),
        )
        .join(seat, seat.c.id == reservation.c.seat_id)
        .join(users, users.c.id == reservation.c.user_id)
        .where(reservation.c.schedule_id == schedule_id)
    )
    if status is not None:
        query = query.where(shown == status)
    if after_id is not None:
        query = query.where(reservation.c.id > after_id)
    return list((await conn.execute(query.order_by(reservation.c.id).limit(limit))).all())


# A user as the operator sees them.
_ACCOUNT = (
    users.c.id,
    users.c.name,
    users.c.email,
    users.c.balance,
    users.c.created_at,
    users.c.blocked_at,
)


async def users_page(
    conn: AsyncConnection, email: str | None, after_id: int | None, limit: int
) -> list[Record]:
    query = select(*_ACCOUNT)
    if email is not None:
        query = query.where(func.lower(users.c.email).contains(email.lower(), autoescape=True))
    if after_id is not None:
        query = query.where(users.c.id > after_id)
    return list((await conn.execute(query.order_by(users.c.id).limit(limit))).all())


async def set_blocked(
    conn: AsyncConnection, user_id: int, blocked: bool, now: datetime
) -> Record | None:
    """Block the user (keeping the time of a block already in place) or unblock them; the
    account as it is now, or None when there is no such user. The update takes the user's row
    lock, as every booking transaction does first."""
    blocked_at = func.coalesce(users.c.blocked_at, literal(now, UTCDateTime())) if blocked else None
    return (
        await conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(blocked_at=blocked_at, updated_at=now)
            .returning(*_ACCOUNT)
        )
    ).first()
