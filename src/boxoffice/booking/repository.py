"""The SQL of booking: holds, payments, cancellations and the expiry sweep.

Every transaction that touches them takes its locks in one order: the user row, then
reservations, then seats, then payments. With one order there is no deadlock between holds,
payments, cancellations and the sweeper.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Select,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.booking.schemas import (
    AdmissionRef,
    HoldCall,
    HolderAtSeat,
    PayCall,
    PaymentOut,
    ReservationOut,
    ReservationToCancel,
    ReservationToEnd,
    ReservationToPay,
    SeatToHold,
    StoredAnswer,
)
from boxoffice.db import Record, for_update, insert_ignoring_conflicts, skip_locked
from boxoffice.liveness import is_expired_hold, is_live_hold, shown_status
from boxoffice.pg_driver import DriverConnection
from boxoffice.showtime import is_on_sale
from boxoffice.statuses import SEAT_OCCUPYING, PaymentStatus, ReservationStatus, SeatStatus
from boxoffice.tables import (
    Money,
    UTCDateTime,
    admission_end,
    concert_schedule,
    payment,
    reservation,
    seat,
    users,
)

_NOW = bindparam("now", type_=UTCDateTime())
# Reservations that occupy their seat (the statuses of the live-seat index).
_OCCUPYING = reservation.c.status.in_(SEAT_OCCUPYING)


# --- Holds ---------------------------------------------------------------------------------


async def lock_user(conn: AsyncConnection, user_id: int) -> bool:
    """Take the user's row lock first, so that one user's concurrent requests queue here."""
    found = await conn.execute(for_update(select(users.c.id).where(users.c.id == user_id)))
    return found.first() is not None


def _lock_holder_at_seat_statement() -> Select[Any]:
    target = (
        select(
            seat.c.id.label("seat_id"),
            seat.c.schedule_id,
            concert_schedule.c.concert_id,
            seat.c.seat_number,
            seat.c.price,
            concert_schedule.c.start_time,
            concert_schedule.c.cancelled_at,
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
            is_live_hold(_NOW),
        )
        .scalar_subquery()
        .label("live_holds")
    )
    query = (
        select(users.c.blocked_at, live_holds, *target.c)
        .select_from(users.outerjoin(target, true()))
        .where(users.c.id == bindparam("user_id"))
    )
    return for_update(query, of=users)


# The statements of a hold are built once: building one anew costs more than running it.
_LOCK_HOLDER_AT_SEAT = _lock_holder_at_seat_statement()


async def lock_holder_at_seat(
    conn: AsyncConnection, user_id: int, seat_id: int, now: datetime
) -> HolderAtSeat | None:
    """Lock the user's row, read whether they are blocked, the seat to hold and the user's live
    holds in its schedule, all in one round trip. None when the user does not exist. Holding
    the lock keeps the count and the standing true until commit."""
    params = {"user_id": user_id, "seat_id": seat_id, "now": now}
    row = (await conn.execute(_LOCK_HOLDER_AT_SEAT, params)).first()
    if row is None:
        return None
    return HolderAtSeat(
        blocked_at=row.blocked_at, live_holds=row.live_holds, seat=_seat(row._mapping)
    )


def _seat(row: Mapping[str, Any]) -> SeatToHold | None:
    """The seat to hold, from a row of the holder's lock or of `boxoffice_hold()` (read by
    column name: either a SQLAlchemy row's mapping or a driver record); None when the seat is
    unknown."""
    if row["seat_id"] is None:
        return None
    return SeatToHold(
        seat_id=row["seat_id"],
        schedule_id=row["schedule_id"],
        concert_id=row["concert_id"],
        seat_number=row["seat_number"],
        price=int(row["price"]),
        start_time=row["start_time"],
        cancelled_at=row["cancelled_at"],
    )


async def expire_stale_hold_on_seat(conn: AsyncConnection, seat_id: int, now: datetime) -> bool:
    """Mark the seat's expired-but-unswept hold EXPIRED. True when there was one: the seat is
    then free to take over, although its row still says UNAVAILABLE."""
    expired = await conn.execute(
        update(reservation)
        .where(reservation.c.seat_id == seat_id, is_expired_hold(now))
        .values(status=ReservationStatus.EXPIRED, updated_at=now)
        .returning(reservation.c.id)
    )
    return expired.first() is not None


_TAKE_FREE_SEAT = (
    update(seat)
    .where(seat.c.id == bindparam("seat_id"), seat.c.status == SeatStatus.AVAILABLE)
    .values(status=SeatStatus.UNAVAILABLE, updated_at=_NOW)
)


async def take_free_seat(conn: AsyncConnection, seat_id: int, now: datetime) -> bool:
    """Compare-and-set AVAILABLE -> UNAVAILABLE: of all concurrent takers, exactly one wins."""
    taken = await conn.execute(_TAKE_FREE_SEAT, {"seat_id": seat_id, "now": now})
    return taken.rowcount == 1


async def free_seats(conn: AsyncConnection, seat_ids: list[int], now: datetime) -> None:
    if seat_ids:
        await conn.execute(
            update(seat)
            .where(seat.c.id.in_(seat_ids), seat.c.status == SeatStatus.UNAVAILABLE)
            .values(status=SeatStatus.AVAILABLE, updated_at=now)
        )


def _insert_hold_statement() -> Any:
    """INSERT .. SELECT from the schedule row, only while the schedule is on sale. The row is
    read under FOR KEY SHARE (the lock the reservation's foreign key takes anyway), and an
    operator's cancel takes FOR UPDATE on it: a hold either commits before the cancel looks for
    the schedule's holds, or waits for the cancel and then finds the schedule cancelled."""
    on_sale = (
        select(
            bindparam("user_id", type_=BigInteger()),
            concert_schedule.c.id,
            bindparam("seat_id", type_=BigInteger()),
            bindparam("amount", type_=Money()),
            literal(ReservationStatus.TEMPORARY.value),
            bindparam("expires_at", type_=UTCDateTime()),
            _NOW,
            _NOW,
        )
        .where(concert_schedule.c.id == bindparam("schedule_id"), is_on_sale(_NOW))
        .with_for_update(key_share=True)
    )
    columns = [
        "user_id",
        "schedule_id",
        "seat_id",
        "amount",
        "status",
        "expires_at",
        "created_at",
        "updated_at",
    ]
    return insert(reservation).from_select(columns, on_sale).returning(reservation.c.id)


_INSERT_HOLD = _insert_hold_statement()


async def insert_hold(
    conn: AsyncConnection, user_id: int, target: SeatToHold, expires_at: datetime, now: datetime
) -> int | None:
    """The new hold's id; None when the schedule is no longer on sale."""
    values = {
        "user_id": user_id,
        "schedule_id": target.schedule_id,
        "seat_id": target.seat_id,
        "amount": target.price,
        "expires_at": expires_at,
        "now": now,
    }
    new_id: int | None = (await conn.execute(_INSERT_HOLD, values)).scalar()
    return new_id


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
                is_live_hold(now),
                concert_schedule.c.concert_id == concert_id,
            )
        )
    ).scalar_one()
    return count


# --- Admissions that a payment ended ------------------------------------------------------


async def admission_ended(conn: AsyncConnection, token: str) -> bool:
    found = await conn.execute(select(admission_end.c.token).where(admission_end.c.token == token))
    return found.first() is not None


async def forget_ended_admissions(conn: AsyncConnection, before: datetime, limit: int) -> int:
    """Delete up to `limit` of the rows of admissions ended before `before`, oldest first."""
    oldest = (
        select(admission_end.c.token)
        .where(admission_end.c.ended_at < before)
        .order_by(admission_end.c.ended_at)
        .limit(limit)
    )
    result = await conn.execute(admission_end.delete().where(admission_end.c.token.in_(oldest)))
    return int(result.rowcount)


async def end_admission(
    conn: AsyncConnection, token: str, user_id: int, concert_id: int, now: datetime
) -> None:
    """For a caller holding the user's row lock, whose payment left no live hold in the
    concert."""
    await conn.execute(
        insert_ignoring_conflicts(admission_end, conn.dialect.name).values(
            token=token, user_id=user_id, concert_id=concert_id, ended_at=now
        )
    )


# --- The hold and the payment in one call (PostgreSQL; see `booking.procedures`) -----------

# Sent to the driver directly (see `boxoffice.pg_driver`): the hottest statements of a drop.
_HOLD_CALL = "SELECT * FROM boxoffice_hold($1, $2, $3, $4, $5, $6, $7)"


async def hold_in_one_call(
    conn: DriverConnection,
    user_id: int,
    seat_id: int,
    admission: AdmissionRef,
    now: datetime,
    ttl_seconds: float,
    hold_limit: int,
) -> HoldCall:
    row = await conn.fetchrow(
        _HOLD_CALL,
        user_id,
        seat_id,
        admission.concert_id,
        admission.token,
        now,
        ttl_seconds,
        hold_limit,
    )
    holder = None
    if row["outcome"] != "USER_NOT_FOUND":
        holder = HolderAtSeat(row["blocked_at"], row["live_holds"] or 0, _seat(row))
    return HoldCall(
        outcome=row["outcome"],
        holder=holder,
        reservation_id=row["reservation_id"],
        took_over=bool(row["took_over"]),
        held_at=row["held_at"] or now,
        expires_at=row["expires_at"],
    )


_PAY_CALL = "SELECT * FROM boxoffice_pay($1, $2, $3, $4, $5, $6, $7, $8)"


async def pay_in_one_call(
    conn: DriverConnection,
    user_id: int,
    reservation_id: int,
    admission: AdmissionRef,
    now: datetime,
    answer: StoredAnswer | None,
) -> PayCall:
    row = await conn.fetchrow(
        _PAY_CALL,
        user_id,
        reservation_id,
        admission.concert_id,
        admission.token,
        now,
        answer.claim_id if answer else None,
        answer.status if answer else None,
        answer.body if answer else None,
    )
    return PayCall(
        outcome=row["outcome"],
        payment_id=row["payment_id"],
        amount=None if row["amount"] is None else int(row["amount"]),
        holds_left=row["holds_left"],
    )


# --- Reading reservations ------------------------------------------------------------------


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


async def find_view(
    conn: AsyncConnection, reservation_id: int, user_id: int, now: datetime
) -> ReservationOut | None:
    row = (
        await conn.execute(
            _view(now).where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
        )
    ).first()
    return None if row is None else ReservationOut.model_validate(row, from_attributes=True)


async def views_page(
    conn: AsyncConnection, user_id: int, before_id: int | None, limit: int, now: datetime
) -> list[ReservationOut]:
    query = _view(now).where(reservation.c.user_id == user_id)
    if before_id is not None:
        query = query.where(reservation.c.id < before_id)
    rows = await conn.execute(query.order_by(reservation.c.id.desc()).limit(limit))
    return [ReservationOut.model_validate(row, from_attributes=True) for row in rows]


# --- Changing a reservation ----------------------------------------------------------------


async def lock_reservation(
    conn: AsyncConnection, reservation_id: int, user_id: int
) -> ReservationToCancel | None:
    """The reservation with its schedule's start time, row-locked for a state change."""
    query = (
        select(
            reservation.c.id,
            reservation.c.user_id,
            reservation.c.seat_id,
            reservation.c.status,
            reservation.c.expires_at,
            reservation.c.checked_in_at,
            concert_schedule.c.start_time,
        )
        .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
        .where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
    )
    row = (await conn.execute(for_update(query, of=reservation))).first()
    if row is None:
        return None
    return ReservationToCancel(
        id=row.id,
        user_id=row.user_id,
        seat_id=row.seat_id,
        status=ReservationStatus(row.status),
        expires_at=row.expires_at,
        start_time=row.start_time,
        checked_in_at=row.checked_in_at,
    )


async def set_status(
    conn: AsyncConnection,
    reservation_id: int,
    old: ReservationStatus,
    new: ReservationStatus,
    now: datetime,
) -> None:
    """For a reservation whose row lock the caller holds and whose status it has read."""
    await conn.execute(
        update(reservation)
        .where(reservation.c.id == reservation_id, reservation.c.status == old)
        .values(status=new, updated_at=now)
    )


async def confirm_live_hold(
    conn: AsyncConnection, reservation_id: int, user_id: int, now: datetime
) -> bool:
    """TEMPORARY -> CONFIRMED, only while the hold is still live and its schedule on sale. A
    sweeper expiring the hold, and an operator's cancel ending it, take the same row lock, so
    exactly one of them changes it."""
    on_sale = exists().where(concert_schedule.c.id == reservation.c.schedule_id, is_on_sale(now))
    confirmed = await conn.execute(
        update(reservation)
        .where(
            reservation.c.id == reservation_id,
            reservation.c.user_id == user_id,
            is_live_hold(now),
            on_sale,
        )
        .values(status=ReservationStatus.CONFIRMED, updated_at=now)
    )
    return confirmed.rowcount == 1


async def cancel_live_holds(conn: AsyncConnection, user_id: int, now: datetime) -> list[int]:
    """Cancel every live hold of the user; the seats they covered. For a caller holding the
    user's row lock."""
    cancelled = await conn.execute(
        update(reservation)
        .where(reservation.c.user_id == user_id, is_live_hold(now))
        .values(status=ReservationStatus.CANCELLED, updated_at=now)
        .returning(reservation.c.seat_id)
    )
    return list(cancelled.scalars())


# --- Payments ------------------------------------------------------------------------------


async def find_reservation_to_pay(
    conn: AsyncConnection, reservation_id: int, user_id: int, now: datetime
) -> ReservationToPay | None:
    """The reservation with its status as of `now`, its concert, and whether its owner is
    blocked."""
    row = (
        await conn.execute(
            select(
                reservation.c.id,
                reservation.c.amount,
                shown_status(now).label("status"),
                reservation.c.schedule_id,
                concert_schedule.c.concert_id,
                concert_schedule.c.start_time,
                concert_schedule.c.cancelled_at,
                users.c.blocked_at,
            )
            .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
            .join(users, users.c.id == reservation.c.user_id)
            .where(reservation.c.id == reservation_id, reservation.c.user_id == user_id)
        )
    ).first()
    if row is None:
        return None
    return ReservationToPay(
        id=row.id,
        amount=row.amount,
        status=ReservationStatus(row.status),
        schedule_id=row.schedule_id,
        concert_id=row.concert_id,
        start_time=row.start_time,
        cancelled_at=row.cancelled_at,
        owner_blocked_at=row.blocked_at,
    )


async def insert_payment(
    conn: AsyncConnection,
    user_id: int,
    reservation_id: int,
    amount: int,
    status: PaymentStatus,
    now: datetime,
) -> PaymentOut:
    row = (
        await conn.execute(
            insert(payment)
            .values(
                user_id=user_id,
                reservation_id=reservation_id,
                amount=amount,
                status=status,
                created_at=now,
                updated_at=now,
            )
            .returning(payment)
        )
    ).one()
    return PaymentOut.model_validate(row, from_attributes=True)


async def find_payment(conn: AsyncConnection, payment_id: int, user_id: int) -> PaymentOut | None:
    row = (
        await conn.execute(
            select(payment).where(payment.c.id == payment_id, payment.c.user_id == user_id)
        )
    ).first()
    return None if row is None else PaymentOut.model_validate(row, from_attributes=True)


async def cancel_payment(conn: AsyncConnection, reservation_id: int, now: datetime) -> int:
    """Mark the booking's successful payment CANCELLED; returns its amount."""
    amount: int = (
        await conn.execute(
            update(payment)
            .where(
                payment.c.reservation_id == reservation_id,
                payment.c.status == PaymentStatus.SUCCESS,
            )
            .values(status=PaymentStatus.CANCELLED, updated_at=now)
            .returning(payment.c.amount)
        )
    ).scalar_one()
    return int(amount)


# --- The expiry sweep ----------------------------------------------------------------------


class ExpiredHold(NamedTuple):
    id: int
    seat_id: int


async def pick_expired_holds(conn: AsyncConnection, now: datetime, limit: int) -> list[ExpiredHold]:
    """Expired holds that no other transaction is working on, locked for this one."""
    query = (
        select(reservation.c.id, reservation.c.seat_id)
        .where(is_expired_hold(now))
        .order_by(reservation.c.expires_at)
        .limit(limit)
    )
    rows = await conn.execute(skip_locked(query))
    return [ExpiredHold(row.id, row.seat_id) for row in rows]


async def mark_expired(conn: AsyncConnection, reservation_ids: list[int], now: datetime) -> None:
    await conn.execute(
        update(reservation)
        .where(
            reservation.c.id.in_(reservation_ids),
            reservation.c.status == ReservationStatus.TEMPORARY,
        )
        .values(status=ReservationStatus.EXPIRED, updated_at=now)
    )


# --- A cancelled schedule ------------------------------------------------------------------


async def lock_schedule(conn: AsyncConnection, schedule_id: int) -> Record | None:
    """The schedule's id and `cancelled_at`, locked FOR UPDATE: the one lock that conflicts
    with the FOR KEY SHARE under which every hold inserts its reservation."""
    query = select(concert_schedule.c.id, concert_schedule.c.cancelled_at).where(
        concert_schedule.c.id == schedule_id
    )
    row: Record | None = (await conn.execute(for_update(query))).first()
    return row


async def mark_schedule_cancelled(conn: AsyncConnection, schedule_id: int, now: datetime) -> None:
    await conn.execute(
        update(concert_schedule)
        .where(concert_schedule.c.id == schedule_id, concert_schedule.c.cancelled_at.is_(None))
        .values(cancelled_at=now, updated_at=now)
    )


class Owned(NamedTuple):
    id: int
    user_id: int


async def live_reservations_of_schedule(
    conn: AsyncConnection, schedule_id: int, limit: int
) -> list[Owned]:
    """The first `limit` reservations of the schedule that still occupy a seat (held, expired
    but not swept, or confirmed), with their owners; read without locks."""
    rows = await conn.execute(
        select(reservation.c.id, reservation.c.user_id)
        .where(reservation.c.schedule_id == schedule_id, _OCCUPYING)
        .order_by(reservation.c.id)
        .limit(limit)
    )
    return [Owned(row.id, row.user_id) for row in rows]


async def lock_users(
    conn: AsyncConnection, user_ids: list[int], skip_busy: bool = False
) -> list[int]:
    """Lock the users' rows in id order (so that two such transactions never deadlock); with
    `skip_busy`, only those no other transaction holds. The ids locked."""
    query = select(users.c.id).where(users.c.id.in_(user_ids)).order_by(users.c.id)
    locking = skip_locked(query) if skip_busy else for_update(query)
    return list((await conn.execute(locking)).scalars())


async def lock_live_reservations(
    conn: AsyncConnection, reservation_ids: list[int]
) -> list[ReservationToEnd]:
    """Those of the reservations that still occupy a seat, locked, as stored now."""
    query = (
        select(
            reservation.c.id,
            reservation.c.user_id,
            reservation.c.seat_id,
            reservation.c.status,
            reservation.c.expires_at,
        )
        .where(reservation.c.id.in_(reservation_ids), _OCCUPYING)
        .order_by(reservation.c.id)
    )
    rows = await conn.execute(for_update(query))
    return [
        ReservationToEnd(
            id=row.id,
            user_id=row.user_id,
            seat_id=row.seat_id,
            status=ReservationStatus(row.status),
            expires_at=row.expires_at,
        )
        for row in rows
    ]


async def cancelled_schedules_with_live_reservations(
    conn: AsyncConnection, limit: int
) -> list[int]:
    """Cancelled schedules whose cancellation has not finished (a process died during it)."""
    unfinished = exists().where(reservation.c.schedule_id == concert_schedule.c.id, _OCCUPYING)
    rows = await conn.execute(
        select(concert_schedule.c.id)
        .where(concert_schedule.c.cancelled_at.is_not(None), unfinished)
        .order_by(concert_schedule.c.cancelled_at)
        .limit(limit)
    )
    return list(rows.scalars())
