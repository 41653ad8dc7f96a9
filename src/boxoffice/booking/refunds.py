"""Undoing a paid booking, inside a unit of work its caller owns: a user's cancellation here,
and any other path that must refund bookings (a cancelled show) with the same steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.booking import repository
from boxoffice.statuses import ReservationStatus
from boxoffice.users import ledger


async def refund_booking(
    conn: AsyncConnection, reservation_id: int, user_id: int, seat_id: int, now: datetime
) -> int:
    """Cancel a CONFIRMED reservation, mark its payment CANCELLED, credit the amount back with
    a REFUND entry, and put the seat back on sale. The caller holds the user's and the
    reservation's locks, in that order. Returns the amount refunded."""
    await repository.set_status(
        conn, reservation_id, ReservationStatus.CONFIRMED, ReservationStatus.CANCELLED, now
    )
    await repository.free_seats(conn, [seat_id], now)
    amount = await repository.cancel_payment(conn, reservation_id, now)
    await ledger.refund(conn, user_id, amount, now)
    return amount
