"""Reading reservations as tickets, and marking them used. Only the columns a ticket needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Record
from boxoffice.statuses import ReservationStatus
from boxoffice.tables import reservation, seat


async def find_ticket(conn: AsyncConnection, reservation_id: int) -> Record | None:
    """The reservation's owner, state, seat and check-in time."""
    query = (
        select(
            reservation.c.id,
            reservation.c.user_id,
            reservation.c.status,
            reservation.c.schedule_id,
            reservation.c.checked_in_at,
            seat.c.seat_number,
        )
        .join(seat, seat.c.id == reservation.c.seat_id)
        .where(reservation.c.id == reservation_id)
    )
    return (await conn.execute(query)).first()


async def mark_checked_in(
    conn: AsyncConnection, reservation_id: int, now: datetime
) -> datetime | None:
    """Check the ticket in, if it is confirmed and unused: one conditional statement, so of two
    doors scanning it at once exactly one gets the time back. None when nothing changed."""
    checked_in_at: datetime | None = (
        await conn.execute(
            update(reservation)
            .where(
                reservation.c.id == reservation_id,
                reservation.c.status == ReservationStatus.CONFIRMED,
                reservation.c.checked_in_at.is_(None),
            )
            .values(checked_in_at=now, updated_at=now)
            .returning(reservation.c.checked_in_at)
        )
    ).scalar()
    return checked_in_at
