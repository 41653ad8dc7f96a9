"""`boxoffice audit`: checks every promise of the data on a live database.

Each check is one query that returns the rows breaking a rule (empty when all is well) and a
count of what it looked at. The checks read one consistent snapshot, and judge liveness with the
same rule as the service (`boxoffice.liveness`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.liveness import is_live
from boxoffice.statuses import (
    SEAT_OCCUPYING,
    EntryType,
    PaymentStatus,
    ReservationStatus,
    SeatStatus,
)
from boxoffice.tables import (
    concert_schedule,
    payment,
    point_history,
    reservation,
    seat,
    seat_count_delta,
    users,
)


@dataclass(frozen=True)
class Check:
    name: str
    checked: Select[Any]  # counts what the check looked at
    violations: Callable[[datetime], Select[Any]]  # lists what breaks the rule, as of a moment


@dataclass(frozen=True)
class Result:
    name: str
    checked: int
    violations: list[tuple[Any, ...]]

    @property
    def ok(self) -> bool:
        return not self.violations


# Payments that took money (a CANCELLED one took it and gave it back).
_PAID = payment.c.status.in_([PaymentStatus.SUCCESS, PaymentStatus.CANCELLED])


def _count(table: Any, *where: ColumnElement[bool]) -> Select[Any]:
    return select(func.count()).select_from(table).where(*where)


def _sum_when(condition: ColumnElement[bool], amount: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, amount), else_=0)), 0)


def _ledger_by_user() -> Any:
    kind = point_history.c.type
    return (
        select(
            point_history.c.user_id,
            _sum_when(kind == EntryType.CHARGE, point_history.c.amount).label("charges"),
            _sum_when(kind == EntryType.REFUND, point_history.c.amount).label("refunds"),
            _sum_when(kind == EntryType.USE, point_history.c.amount).label("uses"),
        )
        .group_by(point_history.c.user_id)
        .subquery("ledger")
    )


def _payments_by_user() -> Any:
    status = payment.c.status
    return (
        select(
            payment.c.user_id,
            _sum_when(_PAID, payment.c.amount).label("paid"),
            _sum_when(status == PaymentStatus.CANCELLED, payment.c.amount).label("refunded"),
        )
        .group_by(payment.c.user_id)
        .subquery("payments")
    )


def _balance_matches_ledger(_: datetime) -> Select[Any]:
    ledger = _ledger_by_user()
    charges, refunds, uses = (
        func.coalesce(ledger.c.charges, 0),
        func.coalesce(ledger.c.refunds, 0),
        func.coalesce(ledger.c.uses, 0),
    )
    return (
        select(users.c.id, users.c.balance, charges, refunds, uses)
        .select_from(users.outerjoin(ledger, ledger.c.user_id == users.c.id))
        .where(or_(users.c.balance < 0, users.c.balance != charges + refunds - uses))
    )


def _one_live_reservation_per_seat(now: datetime) -> Select[Any]:
    return (
        select(reservation.c.seat_id, func.count())
        .where(is_live(now))
        .group_by(reservation.c.seat_id)
        .having(func.count() > 1)
    )


def _seat_status_follows_reservations(_: datetime) -> Select[Any]:
    covered = exists().where(
        reservation.c.seat_id == seat.c.id, reservation.c.status.in_(SEAT_OCCUPYING)
    )
    taken = seat.c.status == SeatStatus.UNAVAILABLE
    return select(seat.c.id, seat.c.status).where(or_(and_(taken, ~covered), and_(~taken, covered)))


def _counter_matches_seats(_: datetime) -> Select[Any]:
    seats = (
        select(
            seat.c.schedule_id,
            func.count().label("seats"),
            _sum_when(seat.c.status == SeatStatus.AVAILABLE, literal(1)).label("free"),
        )
        .group_by(seat.c.schedule_id)
        .subquery("seats")
    )
    pending = (
        select(func.coalesce(func.sum(seat_count_delta.c.delta), 0))
        .where(seat_count_delta.c.schedule_id == concert_schedule.c.id)
        .scalar_subquery()
    )
    schedule = concert_schedule.c
    return (
        select(schedule.id, schedule.available_seats, schedule.total_seats, seats.c.free)
        .join(seats, seats.c.schedule_id == schedule.id)
        .where(
            or_(
                schedule.total_seats != seats.c.seats,
                schedule.available_seats + pending != seats.c.free,
            )
        )
    )


def _success_pays_confirmed(_: datetime) -> Select[Any]:
    return (
        select(payment.c.id, reservation.c.id, reservation.c.status)
        .join(reservation, reservation.c.id == payment.c.reservation_id)
        .where(
            payment.c.status == PaymentStatus.SUCCESS,
            or_(
                reservation.c.status != ReservationStatus.CONFIRMED,
                reservation.c.user_id != payment.c.user_id,
                reservation.c.amount != payment.c.amount,
            ),
        )
    )


def _confirmed_has_one_success(_: datetime) -> Select[Any]:
    successes = func.count(payment.c.id)
    return (
        select(reservation.c.id, successes)
        .select_from(
            reservation.outerjoin(
                payment,
                and_(
                    payment.c.reservation_id == reservation.c.id,
                    payment.c.status == PaymentStatus.SUCCESS,
                ),
            )
        )
        .where(reservation.c.status == ReservationStatus.CONFIRMED)
        .group_by(reservation.c.id)
        .having(successes != 1)
    )


def _paid_before_the_show(_: datetime) -> Select[Any]:
    return (
        select(payment.c.id, payment.c.created_at, concert_schedule.c.start_time)
        .join(reservation, reservation.c.id == payment.c.reservation_id)
        .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
        .where(_PAID, payment.c.created_at >= concert_schedule.c.start_time)
    )


def _refunded_at_most_once(_: datetime) -> Select[Any]:
    """A reservation is paid once, so it has at most one payment that took money: two (one
    SUCCESS, one CANCELLED, or two CANCELLED) would be a second charge or a second refund."""
    return (
        select(payment.c.reservation_id, func.count())
        .where(_PAID)
        .group_by(payment.c.reservation_id)
        .having(func.count() > 1)
    )


def _cancelled_shows_refunded(_: datetime) -> Select[Any]:
    return (
        select(reservation.c.id, reservation.c.schedule_id)
        .join(concert_schedule, concert_schedule.c.id == reservation.c.schedule_id)
        .where(
            concert_schedule.c.cancelled_at.is_not(None),
            reservation.c.status == ReservationStatus.CONFIRMED,
        )
    )


def _ledger_matches_payments(_: datetime) -> Select[Any]:
    ledger, paid = _ledger_by_user(), _payments_by_user()
    return (
        select(users.c.id)
        .select_from(
            users.outerjoin(ledger, ledger.c.user_id == users.c.id).outerjoin(
                paid, paid.c.user_id == users.c.id
            )
        )
        .where(
            or_(
                func.coalesce(ledger.c.uses, 0) != func.coalesce(paid.c.paid, 0),
                func.coalesce(ledger.c.refunds, 0) != func.coalesce(paid.c.refunded, 0),
            )
        )
    )


CHECKS = (
    Check(
        "balance == charges + refunds - uses, and never below zero",
        _count(users),
        _balance_matches_ledger,
    ),
    Check("at most one live reservation per seat", _count(seat), _one_live_reservation_per_seat),
    Check(
        "a seat is UNAVAILABLE exactly when a held or confirmed reservation covers it",
        _count(seat),
        _seat_status_follows_reservations,
    ),
    Check(
        "available_seats (with pending changes) == AVAILABLE seats; total_seats == seats",
        _count(concert_schedule),
        _counter_matches_seats,
    ),
    Check(
        "every SUCCESS payment pays a CONFIRMED reservation of its user, for its amount",
        _count(payment, payment.c.status == PaymentStatus.SUCCESS),
        _success_pays_confirmed,
    ),
    Check(
        "every CONFIRMED reservation has exactly one SUCCESS payment",
        _count(reservation, reservation.c.status == ReservationStatus.CONFIRMED),
        _confirmed_has_one_success,
    ),
    Check(
        "no payment succeeded at or after its show's start",
        _count(payment, _PAID),
        _paid_before_the_show,
    ),
    Check(
        "no booking refunded twice: at most one paid or refunded payment per reservation",
        _count(payment, _PAID),
        _refunded_at_most_once,
    ),
    Check(
        "a cancelled schedule keeps no confirmed booking (once its cancellation has finished)",
        _count(concert_schedule, concert_schedule.c.cancelled_at.is_not(None)),
        _cancelled_shows_refunded,
    ),
    Check(
        "USE entries == payments made; REFUND entries == payments cancelled",
        _count(users),
        _ledger_matches_payments,
    ),
)


async def _run_check(conn: AsyncConnection, check: Check, now: datetime) -> Result:
    checked = (await conn.execute(check.checked)).scalar_one()
    violations = (await conn.execute(check.violations(now))).all()
    return Result(check.name, int(checked), [tuple(row) for row in violations])


async def run_audit(db: Database) -> list[Result]:
    now = utcnow()
    async with db.snapshot() as conn:
        return [await _run_check(conn, check, now) for check in CHECKS]
