"""A user's cancellation before the show: a live hold is released, a booking is refunded."""

from __future__ import annotations

from datetime import datetime

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.refunds import refund_booking
from boxoffice.booking.schemas import ReservationOut, ReservationToCancel
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.errors import ReservationNotCancellable, ReservationNotFound
from boxoffice.liveness import status_at
from boxoffice.statuses import ReservationStatus


async def cancel(db: Database, user_id: int, reservation_id: int) -> ReservationOut:
    """Either way the seat is back on sale when the unit of work commits."""
    async with db.unit_of_work() as work:
        conn = work.conn
        await repository.lock_user(conn, user_id)
        current = await repository.lock_reservation(conn, reservation_id, user_id)
        if current is None:
            raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
        # The locks may have kept us waiting: judge expiry and show start as of now.
        now = utcnow()
        status = status_at(current.status, current.expires_at, now)
        refunded = None
        if status == ReservationStatus.TEMPORARY and current.start_time > now:
            await repository.set_status(
                conn, reservation_id, status, ReservationStatus.CANCELLED, now
            )
            await repository.free_seats(conn, [current.seat_id], now)
        elif _refundable(current, status, now):
            refunded = await refund_booking(conn, reservation_id, user_id, current.seat_id, now)
        else:
            raise ReservationNotCancellable(_why_not_cancellable(current, status))
        view = await repository.find_view(conn, reservation_id, user_id, now)
        await work.commit()
    assert view is not None
    if refunded is not None:
        sales_metrics.count_refunds("customer", 1, refunded)
    return view


def _refundable(current: ReservationToCancel, status: ReservationStatus, now: datetime) -> bool:
    """A booking is refunded until its show starts, unless its ticket has let someone in. The
    check-in takes the same row lock (its conditional update), so it and a cancel never both
    go through."""
    return (
        status == ReservationStatus.CONFIRMED
        and current.start_time > now
        and current.checked_in_at is None
    )


def _why_not_cancellable(current: ReservationToCancel, status: ReservationStatus) -> str:
    if status == ReservationStatus.CONFIRMED and current.checked_in_at is not None:
        return "The ticket has already been used to enter."
    if status in (ReservationStatus.CONFIRMED, ReservationStatus.TEMPORARY):
        return "The show has already started."
    if status == ReservationStatus.CANCELLED:
        return "The reservation is already cancelled."
    return "The hold has expired."
