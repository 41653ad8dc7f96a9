"""Use cases for seat holds: take, read, cancel. Paying lives in `boxoffice.payments`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice import sales_metrics
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database, is_unique_violation
from boxoffice.errors import (
    HoldLimitReached,
    ReservationNotCancellable,
    ReservationNotFound,
    SeatNotFound,
    SeatUnavailable,
    UserNotFound,
)
from boxoffice.pagination import Page, PageRequest
from boxoffice.payments import refunds
from boxoffice.queue.service import require_same_concert
from boxoffice.reservations import repository
from boxoffice.reservations.schemas import ReservationOut, SeatToHold
from boxoffice.users import ledger

SWEEP_BATCH = 500


async def hold(
    db: Database, settings: Settings, user_id: int, seat_id: int, admitted_to: int
) -> ReservationOut:
    """Take the seat for `hold_ttl_seconds`, for a user admitted to the concert `admitted_to`.
    The seat row's compare-and-set decides between concurrent takers; the unique index over
    live reservations backs it up."""
    now = utcnow()
    target: SeatToHold | None = None
    try:
        async with db.transaction() as conn:
            target = await _lock_holder_and_seat(conn, settings, user_id, seat_id, now)
            require_same_concert(admitted_to, target.concert_id)
            # The lock may have kept us waiting: a hold on the seat that has expired meanwhile
            # is expired, and this hold's clock starts when it takes the seat.
            now = utcnow()
            expires_at = now + timedelta(seconds=settings.hold_ttl_seconds)
            took_over_expired = await _take_seat(conn, target, now)
            reservation_id = await repository.insert_hold(conn, user_id, target, expires_at, now)
    except IntegrityError as error:
        if target is not None and is_unique_violation(error, "uq_reservation_live_seat"):
            raise _seat_unavailable(target) from error
        raise
    sales_metrics.count_hold()
    sales_metrics.count_expiries(1 if took_over_expired else 0)
    return ReservationOut(
        id=reservation_id,
        user_id=user_id,
        schedule_id=target.schedule_id,
        seat_id=target.seat_id,
        seat_number=target.seat_number,
        amount=target.price,
        status="TEMPORARY",
        expires_at=expires_at,
        created_at=now,
    )


async def _lock_holder_and_seat(
    conn: AsyncConnection, settings: Settings, user_id: int, seat_id: int, now: datetime
) -> SeatToHold:
    found = await repository.lock_user_with_seat(conn, user_id, seat_id, now)
    if found is None:
        raise UserNotFound(f"User {user_id} does not exist.")
    if found.seat is None:
        raise SeatNotFound(f"Seat {seat_id} does not exist.")
    if found.live_holds >= settings.hold_limit:
        raise HoldLimitReached(
            f"You already hold {found.live_holds} seats in schedule {found.seat.schedule_id}; "
            f"the limit is {settings.hold_limit}."
        )
    return found.seat


async def _take_seat(conn: AsyncConnection, target: SeatToHold, now: datetime) -> bool:
    """Win the seat, or raise SEAT_UNAVAILABLE; True when it was won from an expired hold.
    A free seat is taken by compare-and-set. A seat whose hold has expired (swept or not) is
    handed straight over: the stale hold is marked EXPIRED and the seat row stays UNAVAILABLE,
    so the free-seat count does not change. The second compare-and-set catches a sweeper that
    freed the seat between the first two steps. The free-seat counter follows the seat's
    status by itself (see `catalog.counters`)."""
    if await repository.take_free_seat(conn, target.seat_id, now):
        return False
    if await repository.expire_stale_hold_on_seat(conn, target.seat_id, now):
        return True
    if not await repository.take_free_seat(conn, target.seat_id, now):
        raise _seat_unavailable(target)
    return False


def _seat_unavailable(target: SeatToHold) -> SeatUnavailable:
    return SeatUnavailable(
        f"Seat {target.seat_number} of schedule {target.schedule_id} is held or sold."
    )


async def get_reservation(db: Database, user_id: int, reservation_id: int) -> ReservationOut:
    async with db.reading() as conn:
        row = await repository.find_view(conn, reservation_id, user_id, utcnow())
    if row is None:
        raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
    return ReservationOut.model_validate(row, from_attributes=True)


async def list_reservations(db: Database, user_id: int, page: PageRequest) -> Page[ReservationOut]:
    async with db.reading() as conn:
        rows = await repository.views_page(conn, user_id, page.after_id(), page.limit + 1, utcnow())
    items = [ReservationOut.model_validate(row, from_attributes=True) for row in rows]
    return page.page(items, key=lambda r: [r.id])


async def cancel(db: Database, user_id: int, reservation_id: int) -> ReservationOut:
    """Release a live hold, or undo a booking before the show with a full refund: either way
    the seat is back on sale when the transaction commits."""
    now = utcnow()
    async with db.transaction() as conn:
        await repository.lock_user(conn, user_id)
        current = await repository.lock_reservation(conn, reservation_id, user_id)
        if current is None:
            raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
        # The locks may have kept us waiting: judge expiry and show start as of now.
        now = utcnow()
        live_hold = current.status == "TEMPORARY" and current.expires_at > now
        upcoming_booking = current.status == "CONFIRMED" and current.start_time > now
        if not (live_hold or upcoming_booking):
            raise ReservationNotCancellable(_why_not_cancellable(current.status))
        await repository.set_status(conn, reservation_id, current.status, "CANCELLED", now)
        refunded = 0
        if upcoming_booking:
            refunded = await refunds.cancel_payment(conn, reservation_id, now)
            await ledger.credit(conn, user_id, refunded, "REFUND", now)
        await repository.free_seats(conn, [current.seat_id], now)
        view = await repository.find_view(conn, reservation_id, user_id, now)
    assert view is not None
    if upcoming_booking:
        sales_metrics.count_refunds("customer", 1, refunded)
    return ReservationOut.model_validate(view, from_attributes=True)


def _why_not_cancellable(status: str) -> str:
    if status == "CONFIRMED":
        return "The show has already started."
    if status == "CANCELLED":
        return "The reservation is already cancelled."
    return "The hold has expired."


async def sweep_expired_holds(db: Database) -> int:
    """Mark expired holds EXPIRED and put their seats back on sale. Safe in every process at
    once: each sweeper locks the holds it takes and skips those another one has."""
    now = utcnow()
    async with db.transaction() as conn:
        expired = await repository.pick_expired_holds(conn, now, SWEEP_BATCH)
        if not expired:
            return 0
        await repository.mark_expired(conn, [row.id for row in expired], now)
        await repository.free_seats(conn, [row.seat_id for row in expired], now)
    sales_metrics.count_expiries(len(expired))
    return len(expired)
