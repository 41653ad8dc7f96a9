"""Holding a seat, and reading one's reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.schemas import HoldCall, HolderAtSeat, ReservationOut, SeatToHold
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database, is_unique_violation
from boxoffice.errors import (
    HoldLimitReached,
    QueueTokenInvalid,
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


@dataclass(frozen=True)
class _Held:
    reservation: ReservationOut
    # The seat came from a hold that had expired unswept.
    took_over: bool


async def hold(
    db: Database, settings: Settings, user_id: int, seat_id: int, admission: Admission
) -> ReservationOut:
    """Take the seat for `hold_ttl_seconds`. The seat row's compare-and-set decides between
    concurrent takers; the unique index over live reservations backs it up. On PostgreSQL the
    whole hold is one call of `boxoffice_hold()`; SQLite runs the same steps one by one."""
    if db.is_sqlite:
        held = await _hold_step_by_step(db, settings, user_id, seat_id, admission)
    else:
        held = await _hold_in_one_call(db, settings, user_id, seat_id, admission)
    sales_metrics.count_hold()
    sales_metrics.count_expiries(1 if held.took_over else 0)
    return held.reservation


async def _hold_in_one_call(
    db: Database, settings: Settings, user_id: int, seat_id: int, admission: Admission
) -> _Held:
    try:
        async with db.on_driver() as conn:
            call = await repository.hold_in_one_call(
                conn,
                user_id,
                seat_id,
                admission,
                utcnow(),
                settings.hold_ttl_seconds,
                settings.hold_limit,
            )
    except IntegrityError as error:
        _refuse_if_seat_taken(error, seat_id)
        raise
    if call.outcome == "BUSY":
        # Another request of this user holds their row: wait for it the step-by-step way.
        return await _hold_step_by_step(db, settings, user_id, seat_id, admission)
    if call.outcome == "HELD" and call.holder is not None and call.holder.seat is not None:
        assert call.reservation_id is not None and call.expires_at is not None
        reservation = _reservation(
            call.reservation_id, user_id, call.holder.seat, call.expires_at, call.held_at
        )
        return _Held(reservation, call.took_over)
    raise _refusal(call, settings, user_id, seat_id, admission)


def _refusal(
    call: HoldCall, settings: Settings, user_id: int, seat_id: int, admission: Admission
) -> Exception:
    """The error for a hold the function refused, from what it read under the user's lock."""
    if call.holder is None:
        return UserNotFound(f"User {user_id} does not exist.")
    if call.outcome == "ADMISSION_ENDED":
        return _admission_ended()
    target = _check_holder(call.holder, settings, user_id, seat_id)
    if call.outcome == "SEAT_TAKEN":
        return _seat_unavailable(target)
    admission.require(target.concert_id)
    require_on_sale(target.schedule_id, target.start_time, target.cancelled_at, call.held_at)
    # Cancelled between the function's first read and its on-sale check.
    return closed(target.schedule_id)


async def _hold_step_by_step(
    db: Database, settings: Settings, user_id: int, seat_id: int, admission: Admission
) -> _Held:
    now = utcnow()
    try:
        async with db.unit_of_work() as work:
            found = await repository.lock_holder_at_seat(work.conn, user_id, seat_id, now)
            if found is None:
                raise UserNotFound(f"User {user_id} does not exist.")
            target = _check_holder(found, settings, user_id, seat_id)
            admission.require(target.concert_id)
            # The lock may have kept us waiting: a hold on the seat that has expired meanwhile
            # is expired, the show may have started, and this hold's clock starts now.
            now = utcnow()
            require_on_sale(target.schedule_id, target.start_time, target.cancelled_at, now)
            # With the user's row locked, a payment of theirs cannot end the admission under us.
            if await repository.admission_ended(work.conn, admission.token):
                raise _admission_ended()
            expires_at = now + timedelta(seconds=settings.hold_ttl_seconds)
            took_over_expired = await _take_seat(work.conn, target, now)
            reservation_id = await repository.insert_hold(
                work.conn, user_id, target, expires_at, now
            )
            if reservation_id is None:
                raise closed(target.schedule_id)
            await work.commit()
    except IntegrityError as error:
        _refuse_if_seat_taken(error, seat_id)
        raise
    return _Held(_reservation(reservation_id, user_id, target, expires_at, now), took_over_expired)


def _reservation(
    reservation_id: int, user_id: int, target: SeatToHold, expires_at: datetime, now: datetime
) -> ReservationOut:
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


def _check_holder(
    found: HolderAtSeat, settings: Settings, user_id: int, seat_id: int
) -> SeatToHold:
    """The seat to hold, once the holder may hold it: not blocked, the seat known, under the
    hold limit."""
    ensure_not_blocked(user_id, found.blocked_at)
    if found.seat is None:
        raise SeatNotFound(f"Seat {seat_id} does not exist.")
    if found.live_holds >= settings.hold_limit:
        raise HoldLimitReached(
            f"You already hold {found.live_holds} seats in schedule {found.seat.schedule_id}; "
            f"the limit is {settings.hold_limit}."
        )
    return found.seat


def _admission_ended() -> QueueTokenInvalid:
    return QueueTokenInvalid(
        "Your admission ended with your last payment in this concert; join the line again."
    )


def _refuse_if_seat_taken(error: IntegrityError, seat_id: int) -> None:
    """The live-seat index refused a second hold of the seat (a backstop: the compare-and-set
    decides first)."""
    if is_unique_violation(error, "uq_reservation_live_seat"):
        raise SeatUnavailable(f"Seat {seat_id} is held or sold.") from error


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
