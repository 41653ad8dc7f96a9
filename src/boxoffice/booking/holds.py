"""Holding a seat, and reading one's reservations."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.schemas import ReservationOut, SeatToHold
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database, is_unique_violation
from boxoffice.errors import (
    HoldLimitReached,
    ReservationNotFound,
    SeatNotFound,
    SeatUnavailable,
    UserNotFound,
)
from boxoffice.pagination import Page, PageRequest
from boxoffice.queue.service import Admission
from boxoffice.showtime import closed, require_on_sale
from boxoffice.statuses import ReservationStatus
from boxoffice.users.standing import ensure_not_blocked


async def hold(
    db: Database, settings: Settings, user_id: int, seat_id: int, admission: Admission
) -> ReservationOut:
    """Take the seat for `hold_ttl_seconds`. The seat row's compare-and-set decides between
    concurrent takers; the unique index over live reservations backs it up."""
    now = utcnow()
    target: SeatToHold | None = None
    try:
        async with db.unit_of_work() as work:
            target = await _lock_holder_and_seat(work.conn, settings, user_id, seat_id, now)
            admission.require(target.concert_id)
            # The lock may have kept us waiting: a hold on the seat that has expired meanwhile
            # is expired, the show may have started, and this hold's clock starts now.
            now = utcnow()
            require_on_sale(target.schedule_id, target.start_time, target.cancelled_at, now)
            # With the user's row locked, a payment of theirs cannot end the admission under us.
            await admission.confirm(work.conn)
            expires_at = now + timedelta(seconds=settings.hold_ttl_seconds)
            took_over_expired = await _take_seat(work.conn, target, now)
            reservation_id = await repository.insert_hold(
                work.conn, user_id, target, expires_at, now
            )
            if reservation_id is None:
                raise closed(target.schedule_id)
            await work.commit()
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
        status=ReservationStatus.TEMPORARY,
        expires_at=expires_at,
        created_at=now,
    )


async def _lock_holder_and_seat(
    conn: AsyncConnection, settings: Settings, user_id: int, seat_id: int, now: datetime
) -> SeatToHold:
    found = await repository.lock_holder_at_seat(conn, user_id, seat_id, now)
    if found is None:
        raise UserNotFound(f"User {user_id} does not exist.")
    ensure_not_blocked(user_id, found.blocked_at)
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
        found = await repository.find_view(conn, reservation_id, user_id, utcnow())
    if found is None:
        raise ReservationNotFound(f"Reservation {reservation_id} does not exist.")
    return found


async def list_reservations(db: Database, user_id: int, page: PageRequest) -> Page[ReservationOut]:
    async with db.reading() as conn:
        items = await repository.views_page(
            conn, user_id, page.after_id(), page.limit + 1, utcnow()
        )
    return page.page(items, key=lambda r: [r.id])
