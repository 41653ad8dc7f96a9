"""Queries on reservations and the seats they cover.

Every transaction that touches them takes its locks in one order: the user row, then
reservations, then seats, then payments. With one order there is no deadlock between holds,
payments, cancellations and the sweeper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Database, Record
from boxoffice.reservations.schemas import SeatToHold
from boxoffice.tables import concert_schedule, reservation, seat, users


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


async def find_seat_to_hold(conn: AsyncConnection, seat_id: int) -> SeatToHold | None:
    row = (
        await conn.execute(
            select(
                seat.c.id,
                seat.c.schedule_id,
                concert_schedule.c.concert_id,
                seat.c.seat_number,
                seat.c.price,
            )
            .join(concert_schedule, concert_schedule.c.id == seat.c.schedule_id)
            .where(seat.c.id == seat_id)
        )
    ).first()
    return None if row is None else SeatToHold(*row)


async def lock_user(db: Database, conn: AsyncConnection, user_id: int) -> bool:
    """Take the user's row lock first, so that one user's concurrent requests queue here."""
    found = await conn.execute(db.for_update(select(users.c.id).where(users.c.id == user_id)))
    return found.first() is not None


async def lock_user_counting_holds(
    db: Database, conn: AsyncConnection, user_id: int, schedule_id: int, now: datetime
) -> int | None:
    """Lock the user's row and count their live holds in the schedule, in one round trip.
    None when the user does not exist. Holding the lock makes the count stay true until commit."""
    live_holds = (
        select(func.count())
        .where(
            reservation.c.user_id == user_id,
            reservation.c.schedule_id == schedule_id,
            reservation.c.status == "TEMPORARY",
            reservation.c.expires_at > now,
        )
        .scalar_subquery()
    )
    query = select(live_holds).select_from(users).where(users.c.id == user_id)
    count: int | None = (await conn.execute(db.for_update(query, of=users))).scalar()
    return count


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


async def take_free_seat(conn: AsyncConnection, seat_id: int, now: datetime) -> bool:
    """Compare-and-set AVAILABLE -> UNAVAILABLE: of all concurrent takers, exactly one wins."""
    taken = await conn.execute(
        update(seat)
        .where(seat.c.id == seat_id, seat.c.status == "AVAILABLE")
        .values(status="UNAVAILABLE", updated_at=now)
    )
    return taken.rowcount == 1


async def free_seats(conn: AsyncConnection, seat_ids: list[int], now: datetime) -> list[int]:
    """Mark seats AVAILABLE; returns the schedule id of each seat actually freed."""
    if not seat_ids:
        return []
    freed = await conn.execute(
        update(seat)
        .where(seat.c.id.in_(seat_ids), seat.c.status == "UNAVAILABLE")
        .values(status="AVAILABLE", updated_at=now)
        .returning(seat.c.schedule_id)
    )
    return list(freed.scalars())


async def insert_hold(
    conn: AsyncConnection, user_id: int, target: SeatToHold, expires_at: datetime, now: datetime
) -> int:
    new_id: int = (
        await conn.execute(
            insert(reservation)
            .values(
                user_id=user_id,
                schedule_id=target.schedule_id,
                seat_id=target.seat_id,
                amount=target.price,
                status="TEMPORARY",
                expires_at=expires_at,
                created_at=now,
                updated_at=now,
            )
            .returning(reservation.c.id)
        )
    ).scalar_one()
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
    db: Database, conn: AsyncConnection, reservation_id: int, user_id: int
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
    row: Record | None = (await conn.execute(db.for_update(query, of=reservation))).first()
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


async def pick_expired_holds(
    db: Database, conn: AsyncConnection, now: datetime, limit: int
) -> list[Record]:
    """Expired holds that no other transaction is working on, locked for this one."""
    query = (
        select(reservation.c.id, reservation.c.seat_id)
        .where(reservation.c.status == "TEMPORARY", reservation.c.expires_at <= now)
        .order_by(reservation.c.expires_at)
        .limit(limit)
    )
    return list((await conn.execute(db.skip_locked(query))).all())


async def mark_expired(conn: AsyncConnection, reservation_ids: list[int], now: datetime) -> None:
    await conn.execute(
        update(reservation)
        .where(reservation.c.id.in_(reservation_ids), reservation.c.status == "TEMPORARY")
        .values(status="EXPIRED", updated_at=now)
    )
