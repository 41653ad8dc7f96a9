"""Queries on reservations and the seats they cover.

Every transaction that touches them takes its locks in one order: the user row, then
reservations, then seats, then payments. With one order there is no deadlock between holds,
payments, cancellations and the sweeper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, insert, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Record, for_update, skip_locked
from boxoffice.reservations.schemas import SeatToHold, UserAtSeat
from boxoffice.tables import UTCDateTime, concert_schedule, reservation, seat, users


def shown_status(now: datetime) -> ColumnElement[str]:
    """A TEMPORARY hold past its expiry reads as EXPIRED, whatever the sweeper has done."""
    return case(
        (
            (reservation.c.status == "TEMPORARY") & (reservation.c.expires_at <= now),
            "EXPIRED",
        ),
        else_=reservation.c.status,
    )


def _view(now: datetime) -> Select[Any]:
    return select(
        reservation.c.id,
        reservation.c.user_id,
        reservation.c.schedule_id,
        reservation.c.seat_id,
        seat.c.seat_number,
        reservation.c.amount,
        shown_status(now).label("status"),
        reservation.c.expires_at,
        reservation.c.created_at,
    ).join(seat, seat.c.id == reservation.c.seat_id)


async def lock_user(conn: AsyncConnection, user_id: int) -> bool:
    """Take the user's row lock first, so that one user's concurrent requests queue here."""
    found = await conn.execute(for_update(select(users.c.id).where(users.c.id == user_id)))
    return found.first() is not None


def _lock_user_with_seat_statement() -> Select[Any]:
    target = (
        select(
            seat.c.id.label("seat_id"),
            seat.c.schedule_id,
            concert_schedule.c.concert_id,
            seat.c.seat_number,
            seat.c.price,
        )
        .join(concert_schedule, concert_schedule.c.id == seat.c.schedule_id)
        .where(seat.c.id == bindparam("seat_id"))
        .subquery()
    )
    live_holds = (
        select(func.count())
        .where(
            reservation.c.user_id == bindparam("user_id"),
            reservation.c.schedule_id == target.c.schedule_id,
            reservation.c.status == "TEMPORARY",
            reservation.c.expires_at > bindparam("now", type_=UTCDateTime()),
        )
        .scalar_subquery()
    )
    query = (
        select(live_holds, *target.c)
        .select_from(users.outerjoin(target, true()))
        .where(users.c.id == bindparam("user_id"))
    )
    return for_update(query, of=users)


# The statements of a hold are built once: building one anew costs more than running it.
_LOCK_USER_WITH_SEAT = _lock_user_with_seat_statement()


async def lock_user_with_seat(
    conn: AsyncConnection, user_id: int, seat_id: int, now: datetime
) -> UserAtSeat | None:
    """Lock the user's row, read the seat to hold and count the user's live holds in its
    schedule, all in one round trip. None when the user does not exist. Holding the lock keeps
    the count true until commit."""
    params = {"user_id": user_id, "seat_id": seat_id, "now": now}
    row = (await conn.execute(_LOCK_USER_WITH_SEAT, params)).first()
    if row is None:
        return None
    live, *seat_columns = row
    found = None if seat_columns[0] is None else SeatToHold(*seat_columns)
    return UserAtSeat(live_holds=live, seat=found)


async def expire_stale_hold_on_seat(conn: AsyncConnection, seat_id: int, now: datetime) -> bool:
    """Mark the seat's expired-but-unswept hold EXPIRED. True when there was one: the seat is
    then free to take over, although its row still says UNAVAILABLE."""
    expired = await conn.execute(
        update(reservation)
        .where(
            reservation.c.seat_id == seat_id,
            reservation.c.status == "TEMPORARY",
            reservation.c.expires_at <= now,
        )
        .values(status="EXPIRED", updated_at=now)
        .returning(reservation.c.id)
    )
    return expired.first() is not None


_TAKE_FREE_SEAT = (
    update(seat)
    .where(seat.c.id == bindparam("seat_id"), seat.c.status == "AVAILABLE")
    .values(status="UNAVAILABLE", updated_at=bindparam("now", type_=UTCDateTime()))
)


async def take_free_seat(conn: AsyncConnection, seat_id: int, now: datetime) -> bool:
    """Compare-and-set AVAILABLE -> UNAVAILABLE: of all concurrent takers, exactly one wins."""
    taken = await conn.execute(_TAKE_FREE_SEAT, {"seat_id": seat_id, "now": now})
    return taken.rowcount == 1


async def free_seats(conn: AsyncConnection, seat_ids: list[int], now: datetime) -> None:
    if seat_ids:
        await conn.execute(
            update(seat)
            .where(seat.c.id.in_(seat_ids), seat.c.status == "UNAVAILABLE")
            .values(status="AVAILABLE", updated_at=now)
        )


_INSERT_HOLD = insert(reservation).returning(reservation.c.id)


async def insert_hold(
    conn: AsyncConnection, user_id: int, target: SeatToHold, expires_at: datetime, now: datetime
) -> int:
    values = {
        "user_id": user_id,
        "schedule_id": target.schedule_id,
        "seat_id": target.seat_id,
        "amount": target.price,
        "status": "TEMPORARY",
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
    }
    new_id: int = (await conn.execute(_INSERT_HOLD, values)).scalar_one()
    return new_id


async def find_view(
    conn: AsyncConnection, reservation_id: int, user_id: int, now: datetime
) -> Record | None:
    row: Record | None = (
        await conn.execute(
            _view(now).where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
        )
    ).first()
    return row


async def views_page(
    conn: AsyncConnection, user_id: int, before_id: int | None, limit: int, now: datetime
) -> list[Record]:
    query = _view(now).where(reservation.c.user_id == user_id)
    if before_id is not None:
        query = query.where(reservation.c.id < before_id)
    rows = await conn.execute(query.order_by(reservation.c.id.desc()).limit(limit))
    return list(rows.all())


async def lock_reservation(
    conn: AsyncConnection, reservation_id: int, user_id: int
) -> Record | None:
    """The reservation with its schedule's start time, row-locked for a state change."""
    query = (
        select(
            reservation.c.id,
            reservation.c.seat_id,
            reservation.c.schedule_id,
            reservation.c.status,
            reservation.c.expires_at,
            concert_schedule.c.start_time,
        )
        .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
        .where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
    )
    row: Record | None = (await conn.execute(for_update(query, of=reservation))).first()
    return row


async def set_status(
    conn: AsyncConnection, reservation_id: int, old: str, new: str, now: datetime
) -> bool:
    changed = await conn.execute(
        update(reservation)
        .where(reservation.c.id == reservation_id, reservation.c.status == old)
        .values(status=new, updated_at=now)
    )
    return changed.rowcount == 1


async def confirm_live_hold(
    conn: AsyncConnection, reservation_id: int, user_id: int, now: datetime
) -> bool:
    """TEMPORARY -> CONFIRMED, only while the hold is still live. A sweeper expiring the same
    hold takes the same row lock, so exactly one of the two changes it."""
    confirmed = await conn.execute(
        update(reservation)
        .where(
            reservation.c.id == reservation_id,
            reservation.c.user_id == user_id,
            reservation.c.status == "TEMPORARY",
            reservation.c.expires_at > now,
        )
        .values(status="CONFIRMED", updated_at=now)
    )
    return confirmed.rowcount == 1


async def count_live_holds_in_concert(
    conn: AsyncConnection, user_id: int, concert_id: int, now: datetime
) -> int:
    count: int = (
        await conn.execute(
            select(func.count())
            .select_from(reservation)
            .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
            .where(
                reservation.c.user_id == user_id,
                reservation.c.status == "TEMPORARY",
                reservation.c.expires_at > now,
                concert_schedule.c.concert_id == concert_id,
            )
        )
    ).scalar_one()
    return count


async def pick_expired_holds(conn: AsyncConnection, now: datetime, limit: int) -> list[Record]:
    """Expired holds that no other transaction is working on, locked for this one."""
    query = (
        select(reservation.c.id, reservation.c.seat_id)
        .where(reservation.c.status == "TEMPORARY", reservation.c.expires_at <= now)
        .order_by(reservation.c.expires_at)
        .limit(limit)
    )
    return list((await conn.execute(skip_locked(query))).all())


async def mark_expired(conn: AsyncConnection, reservation_ids: list[int], now: datetime) -> None:
    await conn.execute(
        update(reservation)
        .where(reservation.c.id.in_(reservation_ids), reservation.c.status == "TEMPORARY")
        .values(status="EXPIRED", updated_at=now)
    )
